/**
 * Every ```ts block of the README and docs/ type-checks against the package's source, as a reader would
 * paste it: a snippet that does not compile (an `apiKey` typed `string | undefined` where `string` is
 * required, an option renamed) fails here. Blocks are fragments of one app, so the names they use without
 * declaring (`app`, `appId`, `event`, ...) are declared once below; a block that declares one itself wins.
 * A block fenced with a word after the language (```ts vitest) is written for a package this repository
 * does not install, and is not checked.
 */
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

const root = fileURLToPath(new URL('..', import.meta.url))
// in memory only, under the checkout, so that imports resolve from its node_modules
const scratch = join(root, 'test', '.snippets')

/** What the snippets take as given: an app with the plugin registered, and the values a handler has at hand. */
const PRELUDE = `
import type { FastifyInstance } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import type { SuperaiCallbacksOptions, SuperaiEvent as Event } from 'fastify-superai-callbacks'
import type plugin from 'fastify-superai-callbacks'
declare global {
  const superaiCallbacks: typeof plugin
  const app: FastifyInstance
  const options: SuperaiCallbacksOptions
  const appId: string
  const apiKey: string
  const redis: string
  const secret: string
  const event: Event<'job.completed'>
  const MyResultSchema: TSchema
  /** a prom-client histogram */
  const deliveries: { labels (...values: string[]): { observe (value: number): void } }
  /** the app's own code that a handler calls */
  function fetchAndStoreResults (uuid: string): Promise<void>
  const db: { jobs: { update (where: object, values: object): Promise<unknown> } }
}
export {}
`

interface Snippet { readonly doc: string, readonly line: number, readonly code: string }

async function snippets (): Promise<Snippet[]> {
  const docs = ['README.md', ...(await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)]
  const found: Snippet[] = []
  for (const doc of docs.sort()) {
    const lines = (await readFile(join(root, doc), 'utf8')).split('\n')
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*```(ts|typescript)\s*$/.test(lines[i] ?? '')) continue
      const indent = /^\s*/.exec(lines[i] ?? '')?.[0].length ?? 0
      const start = i + 1
      while (i + 1 < lines.length && !/^\s*```\s*$/.test(lines[i + 1] ?? '')) i++
      found.push({ doc, line: start, code: lines.slice(start, i + 1).map((line) => line.slice(indent)).join('\n') })
      i++
    }
  }
  return found
}

// one program over the package's source: more than the default per-file timeout on a busy machine
t.setTimeout(180_000)

const found = await snippets()
t.ok(found.length >= 10, `found the documents' TypeScript blocks (${found.length})`)

const files = new Map<string, string>([[join(scratch, 'prelude.d.ts'), PRELUDE]])
const origin = new Map<string, Snippet>()
for (const [n, snippet] of found.entries()) {
  const file = join(scratch, `${snippet.doc.replace(/[/.]/g, '_')}_${n}.ts`)
  // every block a module of its own, so that two blocks may declare the same name
  files.set(file, `${snippet.code}\nexport {}\n`)
  origin.set(file, snippet)
}

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  esModuleInterop: true,
  baseUrl: root,
  // the sources, never dist/: package.test.ts rebuilds dist/ (npm pack) while this file runs
  paths: { 'fastify-superai-callbacks': ['src/index.ts'], 'fastify-superai-callbacks/sandbox': ['src/sandbox/index.ts'] }
}
const host = ts.createCompilerHost(options)
const readFromDisk = host.readFile.bind(host)
const existsOnDisk = host.fileExists.bind(host)
host.fileExists = (name) => files.has(name) || existsOnDisk(name)
host.readFile = (name) => files.get(name) ?? readFromDisk(name)
const getFromDisk = host.getSourceFile.bind(host)
host.getSourceFile = (name, language, ...rest) => {
  const text = files.get(name)
  return text === undefined ? getFromDisk(name, language, ...rest) : ts.createSourceFile(name, text, language)
}

const program = ts.createProgram([...files.keys()], options, host)
const byFile = new Map<string, string[]>()
for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
  const file = diagnostic.file?.fileName ?? '(none)'
  const at = diagnostic.file !== undefined && diagnostic.start !== undefined
    ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
    : 0
  const snippet = origin.get(file)
  const where = snippet === undefined ? file : `${snippet.doc}:${snippet.line + at + 1}`
  byFile.set(file, [...byFile.get(file) ?? [], `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`])
}
t.same(byFile.get(join(scratch, 'prelude.d.ts')) ?? [], [], 'the prelude compiles')
for (const [file, snippet] of origin) {
  t.same(byFile.get(file) ?? [], [], `${snippet.doc}:${snippet.line} type-checks`)
}
t.same([...byFile.keys()].filter((file) => !files.has(file)), [], 'no error elsewhere')
