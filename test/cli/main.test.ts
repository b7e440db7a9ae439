import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import type { Summary } from '../../src/cli/report.js'
import type { DeliveryResult } from '../../src/cli/deliver.js'
import { jsonOf, runCli, startReceiver, type CliRun } from '../helpers/receiver.js'

const JOB_UUID = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b'

interface SendJson {
  readonly ok: boolean
  readonly callback: Record<string, unknown>
  readonly deliveries: readonly DeliveryResult[]
  readonly summary: Summary
}

// Each case runs the CLI as a child process against a real server: slower than the default file timeout.
t.setTimeout(180_000)

t.test('send --repeat 3: one processed, two duplicates, the handlers ran once', async (t) => {
  const receiver = await startReceiver(t)
  const run = await runCli(['send', receiver.url, '--repeat', '3', '--uuid', JOB_UUID, '--json'])
  t.equal(run.code, 0, run.stderr)
  const { ok, summary, deliveries } = jsonOf<SendJson>(run)
  t.equal(ok, true)
  t.match(summary, { callbacks: 1, deliveries: 3, requests: 3, processed: 1, duplicates: 2, failed: 0, inFlight409: 0 })
  t.same(deliveries.map((d) => d.outcome), ['processed', 'duplicate', 'duplicate'], 'sent one after another')
  t.same([...receiver.runs.values()], [1], 'the callback handler ran once')
  t.same(Object.fromEntries(receiver.named), { 'job.completed': 1 })
  t.equal(receiver.answers.total, 3)
  t.match(receiver.bodies[0], { uuid: JOB_UUID, state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: false })
})

t.test('send --batch: a v2 batch callback, processed once, repeats duplicates, reaching batch and entity events only', async (t) => {
  const receiver = await startReceiver(t)
  const app = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'
  const run = await runCli(['send', receiver.url, '--batch', 'PARTIAL_FAILURE', '--entity-id', JOB_UUID, '--app', app, '--repeat', '2', '--json'])
  t.equal(run.code, 0, run.stderr)
  const { callback, summary } = jsonOf<SendJson>(run)
  t.same(callback, { version: '2', entityType: 'batch', entityId: JOB_UUID, state: 'PARTIAL_FAILURE', appId: app })
  t.match(summary, { processed: 1, duplicates: 1, failed: 0 })
  t.same(Object.fromEntries(receiver.named), { 'batch.partialFailure': 1, entity: 1 })
  t.same(receiver.bodies, [callback])

  // in process: usage errors need no child process
  const usage = async (args: string[]): Promise<{ code: number, err: string }> => {
    let err = ''
    const code = await main(args, { out: () => {}, err: (text) => { err += text }, signal: new AbortController().signal }, '0.0.0')
    return { code, err }
  }
  t.match(await usage(['send', receiver.url, '--batch', 'COMPLETED', '--state', 'FAILED']), { code: 2, err: /--state is for job callbacks/ },
    'job options do not mix with --batch')
  t.match(await usage(['send', receiver.url, '--app', app]), { code: 2, err: /--app needs --batch/ })
  t.equal(receiver.answers.total, 2, 'nothing sent by a usage error')
})

t.test('send in text mode prints each delivery and the summary table', async (t) => {
  const receiver = await startReceiver(t)
  const run = await runCli(['send', receiver.url, '--repeat', '2'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /#1 {2}200 {2}processed/)
  t.match(run.stdout, /#2 {2}200 {2}duplicate/)
  t.match(run.stdout, /│ processed +│ 1 +│/)
  t.match(run.stdout, /│ duplicates reported +│ 1 +│/)
  t.notMatch(run.stderr, /deliveries \|/, 'no progress bar when stderr is not a TTY')
})

t.test('concurrent repeats meet 409 + Retry-After, are retried, and end as duplicates', async (t) => {
  const receiver = await startReceiver(t, { handlerDelay: 400, lease: 1 })
  const run = await runCli(['send', receiver.url, '--repeat', '3', '--concurrent', '--max-wait', '0.6', '--json'])
  t.equal(run.code, 0, run.stderr)
  const { summary, deliveries } = jsonOf<SendJson>(run)
  t.match(summary, { processed: 1, duplicates: 2, inFlight409: 2, retries: 2, requests: 5, errorsByStatus: { 409: 2 } })
  for (const delivery of deliveries.filter((d) => d.outcome === 'duplicate')) {
    t.same(delivery.attempts.map((a) => a.status), [409, 200])
    t.equal(delivery.attempts[0]?.code, 'FST_SUPERAI_IN_FLIGHT')
  }
  t.equal(receiver.answers.byStatus.get(409), 2, 'the server answered 409 twice')
  t.same([...receiver.runs.values()], [1])
})

t.test('a 500 (handler threw) is retried until processed; bounded by --retries', async (t) => {
  const receiver = await startReceiver(t, { failFirst: 2 })
  const run = await runCli(['send', receiver.url, '--json'])
  t.equal(run.code, 0, run.stderr)
  const { summary, deliveries } = jsonOf<SendJson>(run)
  t.match(summary, { processed: 1, failed: 0, retries: 2, requests: 3, errorsByStatus: { 500: 2 } })
  t.same(deliveries[0]?.attempts.map((a) => a.status), [500, 500, 200])

  const stubborn = await startReceiver(t, { failFirst: 10 })
  const failed = await runCli(['send', stubborn.url, '--retries', '1', '--json'])
  t.equal(failed.code, 1, 'exit 1: a delivery was not accepted')
  t.match(jsonOf<SendJson>(failed), { ok: false, summary: { failed: 1, processed: 0, requests: 2, errorsByStatus: { 500: 2 } } })
  t.equal(stubborn.answers.total, 2)
})

t.test('a final 4xx is not retried and fails the run', async (t) => {
  const receiver = await startReceiver(t)
  const run = await runCli(['send', receiver.url, '--uuid', 'not-a-uuid', '--json'])
  t.equal(run.code, 1)
  const { summary, deliveries } = jsonOf<SendJson>(run)
  t.match(summary, { failed: 1, requests: 1, errorsByStatus: { 400: 1 } })
  t.match(deliveries[0], { outcome: 'failed', status: 400, body: { code: 'FST_SUPERAI_INVALID_BODY' }, error: /HTTP 400 FST_SUPERAI_INVALID_BODY/ })
  t.equal(receiver.runs.size, 0)
})

t.test('send --file, with flags overriding its fields and extra fields kept; --header is sent', async (t) => {
  const receiver = await startReceiver(t)
  const file = join(t.testdir(), 'body.json')
  await writeFile(file, JSON.stringify({ id: 77, uuid: JOB_UUID, state: 'COMPLETED', action: 'RESOLVED', result: { label: 'cat' } }))
  const run = await runCli(['send', receiver.url, '--file', file, '--state', 'POST PROCESSED', '--post-processing', 'true',
    '-H', 'X-Callback-Token: s3cret', '--json'])
  t.equal(run.code, 0, run.stderr)
  t.match(receiver.bodies[0], { id: '77', uuid: JOB_UUID, state: 'POST PROCESSED', action: 'RESOLVED', postProcessingEnabled: true, result: { label: 'cat' } })
  t.same(Object.fromEntries(receiver.named), { 'job.postProcessed': 1 })
  t.equal(receiver.headers[0]?.['x-callback-token'], 's3cret')
})

t.test('check-url validates, and --probe POSTs one test callback', async (t) => {
  const receiver = await startReceiver(t)
  const valid = await runCli(['check-url', 'HTTPS://Example.com/cb/', '--json'])
  t.equal(valid.code, 0)
  t.match(jsonOf(valid), { ok: true, valid: true, url: 'https://example.com/cb/' })

  const invalid = await runCli(['check-url', 'https://example.com/cb'])
  t.equal(invalid.code, 1)
  t.match(invalid.stdout, /trailing slash/)

  const probe = await runCli(['check-url', receiver.url, '--probe', '--json'])
  t.equal(probe.code, 0, probe.stderr)
  t.match(jsonOf(probe), { ok: true, probe: { outcome: 'processed', status: 200 } })
  t.match(receiver.bodies[0], { probe: true, state: 'COMPLETED', action: 'RESOLVED' })

  const closed = await runCli(['check-url', 'http://127.0.0.1:9/cb/', '--probe', '--retries', '0', '--json'])
  t.equal(closed.code, 1)
  t.match(jsonOf(closed), { ok: false, probe: { outcome: 'failed', status: 0, error: /fetch failed/ } })
})

t.test('bad arguments are usage errors: exit 2, a message on stderr, nothing sent', async (t) => {
  const receiver = await startReceiver(t)
  const url = receiver.url
  const cases: Array<[string[], RegExp]> = [
    [[], /Usage: superai-callbacks <command>/],
    [['frobnicate', url], /unknown command "frobnicate"/],
    [['send'], /missing <url>/],
    [['send', url, 'extra'], /unexpected argument "extra"/],
    [['send', url, '--bogus'], /Unknown option '--bogus'/],
    [['send', url, '--repeat'], /argument missing/],
    [['send', url, '--repeat', '0'], /--repeat must be an integer from 1 to 1000/],
    [['send', url, '--repeat', 'three'], /--repeat must be an integer/],
    [['send', url, '--post-processing', 'yes'], /--post-processing must be "true" or "false"/],
    [['send', url, '--header', 'no colon'], /--header must look like "Name: value"/],
    [['send', url, '--file', '/nonexistent/body.json'], /--file \/nonexistent\/body.json/],
    [['send', url.slice(0, -1)], /invalid callback URL .*trailing slash/],
    [['send', 'ftp://example.com/cb/'], /invalid callback URL .*protocol/],
    [['simulate', url, '--jobs', '0'], /--jobs must be an integer from 1/],
    [['simulate', url, '--jobs', '-5'], /--jobs/],
    [['simulate', url, '--duplicates', '1.5'], /--duplicates must be a number from 0 to 1/],
    [['simulate', url, '--concurrency', '1000'], /--concurrency must be an integer from 1 to 256/],
    [['simulate', url, '--rate', 'fast'], /--rate must be a number/],
    [['check-url'], /missing <url>/]
  ]
  // A few at a time: each is a node process.
  const runs: CliRun[] = []
  for (let i = 0; i < cases.length; i += 4) {
    runs.push(...await Promise.all(cases.slice(i, i + 4).map(async ([args]) => await runCli(args))))
  }
  cases.forEach(([args, message], i) => {
    const run = runs[i]
    t.equal(run?.code, 2, `exit 2: ${args.join(' ')}`)
    t.match(run?.stderr, message, args.join(' '))
  })
  t.equal(receiver.answers.total, 0, 'nothing was sent')

  const json = await runCli(['simulate', url, '--jobs', 'x', '--json'])
  t.equal(json.code, 2)
  t.match(jsonOf(json), { ok: false, command: 'simulate', error: { code: 'USAGE', message: /--jobs/ } })
})

t.test('--help everywhere, and --version', async (t) => {
  const [main, send, simulate, checkUrl, helpSend, version] = await Promise.all([
    runCli(['--help']), runCli(['send', '--help']), runCli(['simulate', '-h']), runCli(['check-url', '--help']),
    runCli(['help', 'send']), runCli(['--version'])
  ])
  t.equal(main.code, 0)
  t.match(main.stdout, /Exit codes:\n {2}0 .*\n {2}1 .*\n(?: {7}.*\n)? {2}2 /)
  for (const [run, usage] of [[send, 'send <url>'], [simulate, 'simulate <url>'], [checkUrl, 'check-url <url>'], [helpSend, 'send <url>']] as const) {
    t.equal(run.code, 0)
    t.match(run.stdout, `Usage: superai-callbacks ${usage}`)
    t.match(run.stdout, /--json/)
  }
  t.match(simulate.stdout, /--duplicates SHARE/)
  t.equal(version.code, 0)
  t.match(version.stdout, /^\d+\.\d+\.\d+/)
})
