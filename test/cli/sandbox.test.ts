import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { main } from '../../src/cli/main.js'
import { createSuperaiClient } from '../../src/client/client.js'
import { childEnv } from '../helpers/child-env.js'
import { runCli, startReceiver } from '../helpers/receiver.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LINE = /^superai sandbox: (http:\/\/127\.0\.0\.1:(\d+)\/v1) API-KEY (\S+) \(seed (\S+)\)\n$/

// each case runs the CLI as a child process
t.setTimeout(120_000)

interface Running {
  readonly baseUrl: string
  readonly apiKey: string
  readonly stdout: () => string
  readonly stderr: () => string
  /** Sends `signal` and resolves with the exit code and signal. */
  readonly stop: (signal: NodeJS.Signals) => Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** `superai-callbacks sandbox ...` as a user starts it; resolves once it printed its line. */
async function startSandboxCli (t: Test, args: readonly string[]): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sandbox', ...args], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const deadline = Date.now() + 30_000
  while (!stdout.includes('\n')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the sandbox did not start:\n${stdout}\n${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  const match = LINE.exec(stdout)
  if (match === null) throw new Error(`unexpected first line: ${stdout}`)
  return {
    baseUrl: match[1] ?? '',
    apiKey: match[3] ?? '',
    stdout: () => stdout,
    stderr: () => stderr,
    async stop (signal) {
      child.kill(signal)
      const [code, killed] = await exited
      return { code, signal: killed }
    }
  }
}

t.test('sandbox prints one line with its base URL and key, serves the API, calls back, and ends 0 on SIGTERM', async (t) => {
  const receiver = await startReceiver(t)
  const sandbox = await startSandboxCli(t, ['--step', '50', '--duplicates', '1', '--seed', '7'])
  t.match(sandbox.stdout(), LINE)
  t.match(sandbox.apiKey, /^sandbox-[\w-]{20,}$/, 'a random key')

  const refused = await fetch(`${sandbox.baseUrl}/jobs/1`, { headers: { 'API-KEY': 'wrong' } })
  t.equal(refused.status, 401)

  const client = createSuperaiClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl, retries: 0 })
  const { uuid } = await client.submitJobs('app-1', { inputs: [{ documentUrl: 'https://example.com/a.pdf' }], callbackUrl: receiver.url })
  t.type(uuid, 'string')
  const deadline = Date.now() + 20_000
  while (receiver.answers.total < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
  t.match(await client.getJob(String(uuid)), { uuid, appId: 'app-1', status: 'COMPLETED', completed: /Z$/ })
  t.equal(receiver.answers.total, 2, '--duplicates 1: the callback came twice')
  t.equal(receiver.answers.processed, 1)
  t.equal(receiver.answers.duplicates, 1)
  t.match(receiver.bodies[0], { uuid, state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: false }, 'the callback as documented (the handler sees it normalised)')

  const ended = await sandbox.stop('SIGTERM')
  t.same(ended, { code: 0, signal: null }, 'SIGTERM: a clean exit 0')
  t.equal(sandbox.stdout().split('\n').filter(Boolean).length, 1, 'one line, nothing else on stdout')
  t.equal(sandbox.stderr(), '')
})

t.test('sandbox: --api-key and --port are used; the same --seed gives the same jobs; SIGINT ends it with 0', async (t) => {
  const first = await startSandboxCli(t, ['--api-key', 'my-key', '--seed', 'demo', '--step', '0'])
  t.equal(first.apiKey, 'my-key')
  const port = Number(new URL(first.baseUrl).port)
  const submit = async (baseUrl: string): Promise<unknown> =>
    await createSuperaiClient({ apiKey: 'my-key', baseUrl, retries: 0 }).submitJobs('app', { inputs: [{ a: 1 }] })
  const one = await submit(first.baseUrl)
  t.same(await first.stop('SIGINT'), { code: 0, signal: null })

  const second = await startSandboxCli(t, ['--api-key', 'my-key', '--seed', 'demo', '--step', '0', '--port', String(port)])
  t.equal(second.baseUrl, `http://127.0.0.1:${port}/v1`, '--port')
  t.same(await submit(second.baseUrl), one, 'same seed, same batch and job uuids')
  t.same(await second.stop('SIGTERM'), { code: 0, signal: null })
})

t.test('sandbox: bad flags are usage errors (exit 2); a port in use exits 1; in process, an abort ends it with 0', async (t) => {
  // in process: usage errors need no child process
  const inProcess = async (args: string[], signal = new AbortController().signal): Promise<{ code: number, out: string, err: string }> => {
    let out = ''
    let err = ''
    const code = await main(['sandbox', ...args], { out: (text) => { out += text }, err: (text) => { err += text }, signal }, '0.0.0')
    return { code, out, err }
  }
  for (const [args, message] of [
    [['--duplicates', '2'], /--duplicates must be a number from 0 to 1/],
    [['--step', 'soon'], /--step must be an integer/],
    [['--give-up-after', '0'], /--give-up-after must be an integer from 1/],
    [['--callback-url', 'http://127.0.0.1:3000/no-slash'], /invalid --callback-url .*trailing slash/],
    [['--sign-key', '/nonexistent/key.pem'], /--sign-key: cannot read/],
    [['--post-processing', '0.7', '--failures', '0.5'], /together at most 1/],
    [['--api-key', 'two words'], /--api-key must be 1 to 256 printable ASCII/],
    [['--nope'], /Unknown option '--nope'/],
    [['extra'], /unexpected argument "extra"/]
  ] as const) {
    const run = await inProcess([...args])
    t.equal(run.code, 2, args.join(' '))
    t.match(run.err, message)
    t.equal(run.out, '', 'nothing started')
  }
  const help = await inProcess(['--help'])
  t.equal(help.code, 0)
  t.match(help.out, /--give-up-after N/)

  // in process too: the line once it listens, then an abort (what Ctrl-C and SIGTERM do) ends it with 0
  const stop = new AbortController()
  let out = ''
  const running = main(['sandbox', '--step', '0'], { out: (text) => { out += text }, err: (text) => { out += text }, signal: stop.signal }, '0.0.0')
  const deadline = Date.now() + 10_000
  const printed = (): string => out
  while (printed() === '' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  const port = LINE.exec(out)?.[2] ?? ''
  t.match(out, LINE)
  const busy = await runCli(['sandbox', '--port', port])
  t.equal(busy.code, 1, 'a port in use')
  t.match(busy.stderr, /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/)
  stop.abort()
  t.equal(await running, 0)
  await t.rejects(fetch(`http://127.0.0.1:${port}/v1/jobs/1`), 'closed')
})
