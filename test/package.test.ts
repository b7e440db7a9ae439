/**
 * The packed tarball, as a user gets it: `require()` from a CommonJS app, `import` from an ESM app, the
 * `superai-callbacks` bin, and a TypeScript consumer type-checked under every module resolution with
 * `skipLibCheck: false`. Offline: the apps find the package's dependencies (and fastify, @types/node) as
 * links into this checkout's node_modules, and only those, so a dependency missing from package.json fails.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import ts from 'typescript'

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const NAME = 'fastify-superai-callbacks'
const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }

// packing builds (prepack), then six type-checks: more than the default per-file timeout on a busy machine
t.setTimeout(240_000)

const scratch = await mkdtemp(join(tmpdir(), 'superai-package-'))
t.teardown(() => rm(scratch, { recursive: true, force: true }))
const modules = join(scratch, 'node_modules')

/** Links `names` and everything they depend on, as installed in this checkout, into the scratch node_modules. */
async function linkWithDependencies (names: readonly string[]): Promise<void> {
  const linked = new Set<string>()
  const pending = [...names]
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (linked.has(name)) continue
    linked.add(name)
    const source = join(root, 'node_modules', name)
    let manifest: { dependencies?: Record<string, string>, optionalDependencies?: Record<string, string> }
    try {
      manifest = JSON.parse(await readFile(join(source, 'package.json'), 'utf8')) as typeof manifest
    } catch {
      continue // an optional dependency not installed on this platform, or one only nested under its user
    }
    await mkdir(dirname(join(modules, name)), { recursive: true })
    await symlink(source, join(modules, name), 'junction')
    pending.push(...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {}))
  }
}

async function writeFiles (dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
}

/** What building and packing read: a copy of them, so that the build never replaces this checkout's dist/ under other tests. */
const BUILD_INPUTS = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.cjs.json', 'README.md', 'src', 'sandbox']

t.before(async () => {
  const copy = join(scratch, 'checkout')
  await mkdir(copy)
  for (const name of BUILD_INPUTS) await cp(join(root, name), join(copy, name), { recursive: true })
  await symlink(join(root, 'node_modules'), join(copy, 'node_modules'), 'junction')
  // `npm pack` runs prepack, so the tarball holds a fresh build of the copy
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: copy, maxBuffer: 16 * 1024 * 1024 })
  const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ filename: string }]
  await mkdir(modules, { recursive: true })
  await run('tar', ['-xzf', join(scratch, filename), '-C', scratch])
  await rename(join(scratch, 'package'), join(modules, NAME))
  const packed = JSON.parse(await readFile(join(modules, NAME, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  await linkWithDependencies([...Object.keys(packed.dependencies), 'fastify', '@types/node'])
})

/** Registers the plugin with the in-memory store, injects one callback, prints what came back. */
const appBody = `
const app = Fastify()
const handled = []
await app.register(plugin)
app.superai.onJobCompleted((event) => { handled.push(event.state) })
const res = await app.inject({
  method: 'POST',
  url: '/superai/callbacks/',
  payload: { id: '7', uuid: '1b4e28ba-2fa1-41d2-883f-0016d3cca427', state: 'COMPLETED', action: 'RESOLVED' }
})
await app.close()
console.log(JSON.stringify({ status: res.statusCode, body: res.json(), handled, code: new codes.FST_SUPERAI_INVALID_OPTION('a', 'b').code }))
`
const expected = {
  status: 200,
  body: { ok: true, duplicate: false },
  handled: ['COMPLETED'],
  code: 'FST_SUPERAI_INVALID_OPTION'
}

t.test('require() from a CommonJS app', async (t) => {
  const dir = join(scratch, 'app-cjs')
  await writeFiles(dir, {
    'package.json': '{ "type": "commonjs" }\n',
    'app.js': `const Fastify = require('fastify')
const pkg = require('${NAME}')
const { codes } = pkg
const plugin = pkg.default
if (pkg.superaiCallbacks !== plugin) throw new Error('the named and the default export differ')
;(async () => {${appBody}})()
`
  })
  const { stdout } = await run(process.execPath, ['app.js'], { cwd: dir })
  t.same(JSON.parse(stdout), expected)
})

t.test('import from an ESM app', async (t) => {
  const dir = join(scratch, 'app-esm')
  await writeFiles(dir, {
    'package.json': '{ "type": "module" }\n',
    'app.js': `import Fastify from 'fastify'
import plugin, { codes, superaiCallbacks } from '${NAME}'
if (superaiCallbacks !== plugin) throw new Error('the named and the default export differ')
${appBody}`
  })
  const { stdout } = await run(process.execPath, ['app.js'], { cwd: dir })
  t.same(JSON.parse(stdout), expected)
})

/** Starts the sandbox from the subpath, asks it for an unknown job with its key and without, closes it. */
const sandboxBody = `
const sandbox = await createSandbox({ step: 0, seed: 1 })
const known = await fetch(sandbox.baseUrl + '/jobs/nope', { headers: { 'API-KEY': sandbox.apiKey } })
const refused = await fetch(sandbox.baseUrl + '/jobs/nope')
await sandbox.close()
console.log(JSON.stringify({ baseUrl: /^http:\\/\\/127\\.0\\.0\\.1:\\d+\\/v1$/.test(sandbox.baseUrl), statuses: [known.status, refused.status] }))
`

t.test('the sandbox subpath: require() and import', async (t) => {
  const dir = join(scratch, 'app-sandbox')
  await writeFiles(dir, {
    'package.json': '{ "type": "module" }\n',
    'esm.js': `import { createSandbox } from '${NAME}/sandbox'\n${sandboxBody}`,
    'cjs.cjs': `const { createSandbox } = require('${NAME}/sandbox')\n;(async () => {${sandboxBody}})()\n`
  })
  for (const file of ['esm.js', 'cjs.cjs']) {
    const { stdout } = await run(process.execPath, [file], { cwd: dir })
    t.same(JSON.parse(stdout), { baseUrl: true, statuses: [404, 401] }, file)
  }
})

t.test('the superai-callbacks bin runs from the package', async (t) => {
  const { stdout } = await run(process.execPath, [join(modules, NAME, 'dist', 'cli.js'), '--version'], { cwd: scratch })
  t.equal(stdout.trim(), version)
})

/** Uses the public types the way an app does; must compile under every resolution. */
const consumer = `import Fastify from 'fastify'
import superaiCallbacks, {
  codes, type SuperaiCallbacksOptions, type SuperaiEvent, type SuperaiHandler
} from '${NAME}'
import { createSandbox, type Sandbox, type SandboxOptions } from '${NAME}/sandbox'

const onCompleted: SuperaiHandler<'job.completed'> = async (event, context) => {
  const state: 'COMPLETED' = event.state
  context.log.info({ state, key: context.key }, 'job completed')
}
const describe = (event: SuperaiEvent<'job.tagAdded'>): string => \`\${event.uuid} \${event.action}\`
// what other plugins declare into Fastify's route config reaches routeConfig
declare module 'fastify' {
  interface FastifyContextConfig { audit?: boolean }
}
const options: SuperaiCallbacksOptions = { path: '/hooks/superai/', ttl: 3600, routeConfig: { audit: true } }

export async function main (): Promise<string> {
  const app = Fastify()
  await app.register(superaiCallbacks, options)
  app.superai.onJobCompleted(onCompleted)
  app.superai.on('job.tagAdded', (event) => { app.log.info(describe(event)) })
  // @ts-expect-error -- bullmq is not installed here: the queue is unknown, not an any that would let this compile
  app.superai.queue.close()
  const error = new codes.FST_SUPERAI_INVALID_OPTION('path', 'why')
  const code: 'FST_SUPERAI_INVALID_OPTION' = error.code
  const status: 500 = error.statusCode
  const sandboxOptions: SandboxOptions = { step: 0, duplicates: 0.5, seed: 'types' }
  const sandbox: Sandbox = await createSandbox(sandboxOptions)
  const job = sandbox.addJob({ appId: 'app' })
  const uuid: string = sandbox.advance(job.uuid, 'COMPLETED').uuid
  await sandbox.settled()
  await sandbox.close()
  return \`\${app.superai.callbackUrl('https://example.com')} \${code} \${status} \${uuid}\`
}
`

const { ModuleKind, ModuleResolutionKind } = ts
const resolutions: ReadonlyArray<{ name: string, type: 'module' | 'commonjs', module: ts.ModuleKind, moduleResolution: ts.ModuleResolutionKind }> = [
  { name: 'node10', type: 'commonjs', module: ModuleKind.CommonJS, moduleResolution: ModuleResolutionKind.Node10 },
  { name: 'node16 (CommonJS)', type: 'commonjs', module: ModuleKind.Node16, moduleResolution: ModuleResolutionKind.Node16 },
  { name: 'node16 (ESM)', type: 'module', module: ModuleKind.Node16, moduleResolution: ModuleResolutionKind.Node16 },
  { name: 'nodenext (CommonJS)', type: 'commonjs', module: ModuleKind.NodeNext, moduleResolution: ModuleResolutionKind.NodeNext },
  { name: 'nodenext (ESM)', type: 'module', module: ModuleKind.NodeNext, moduleResolution: ModuleResolutionKind.NodeNext },
  { name: 'bundler', type: 'module', module: ModuleKind.ESNext, moduleResolution: ModuleResolutionKind.Bundler }
]

t.test('TypeScript consumers type-check under every resolution with skipLibCheck: false', async (t) => {
  // one compiler in this process, sharing parsed declaration files between the six programs: a third of the time of six tsc runs
  const parsed = new Map<string, ts.SourceFile | undefined>()
  for (const { name, type, module, moduleResolution } of resolutions) {
    const dir = join(scratch, `types-${name.replace(/\W+/g, '-')}`)
    await writeFiles(dir, { 'package.json': JSON.stringify({ type }) + '\n', 'consumer.ts': consumer })
    // what `tsc --init` writes, with the resolution under test
    const options: ts.CompilerOptions = {
      module,
      moduleResolution,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      strict: true,
      esModuleInterop: true,
      skipLibCheck: false,
      noEmit: true
    }
    const host = ts.createCompilerHost(options)
    const parse = host.getSourceFile.bind(host)
    host.getSourceFile = (fileName, languageVersion, ...rest) => {
      // the same file parses differently as CommonJS or ESM, so that is part of the key
      const key = `${fileName}\0${JSON.stringify(languageVersion)}`
      if (!parsed.has(key)) parsed.set(key, parse(fileName, languageVersion, ...rest))
      return parsed.get(key)
    }
    const program = ts.createProgram([join(dir, 'consumer.ts')], options, host)
    const diagnostics = ts.getPreEmitDiagnostics(program)
    t.equal(diagnostics.length, 0, name, {
      diagnostics: ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' })
    })
  }
})
