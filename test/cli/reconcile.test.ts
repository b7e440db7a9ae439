import t from 'tap'
import { runCliHere as runCli } from '../helpers/cli.js'
import { jsonOf, startReceiver } from '../helpers/receiver.js'
import { startFakeSuperai } from '../helpers/fake-superai.js'

const APP_ID = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'

interface ReconcileJson {
  readonly ok: boolean
  readonly dryRun: boolean
  readonly summary: { listed: number, skipped: number, missed: number, queued: number, accepted: number, duplicate: number, failed: number, wouldDeliver: number }
  readonly errors: ReadonlyArray<{ app: string, message: string }>
  readonly undocumentedStatuses: readonly string[]
}

// each case runs the CLI as a child process
t.setTimeout(120_000)

t.test('reconcile: --dry-run only lists; then the missed state changes are delivered, the others are duplicates', async (t) => {
  const api = await startFakeSuperai(t)
  const receiver = await startReceiver(t)
  const jobs = Array.from({ length: 6 }, (_, i) => api.addJob({ appId: APP_ID, status: i % 2 === 0 ? 'COMPLETED' : 'POST_PROCESSED' }))
  api.addJob({ appId: APP_ID, status: 'IN_PROGRESS', completed: new Date().toISOString() })
  api.addJob({ appId: APP_ID, status: 'ARCHIVED' })
  api.addJob({ appId: APP_ID, completed: new Date(Date.now() - 3 * 3_600_000).toISOString() })
  // two callbacks did arrive
  for (const job of jobs.slice(0, 2)) {
    const body = { id: job.id, uuid: job.uuid, state: job.status.replace('_', ' '), action: 'RESOLVED' }
    await fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  }
  const args = ['reconcile', receiver.url, '--api-key', api.apiKey, '--app', APP_ID, '--since', '2h', '--base-url', api.baseUrl, '--json']

  const dry = await runCli([...args, '--dry-run'])
  t.equal(dry.code, 0, dry.stderr)
  t.match(jsonOf<ReconcileJson>(dry), { ok: true, dryRun: true, summary: { listed: 8, skipped: 2, wouldDeliver: 6, missed: 0, duplicate: 0, failed: 0 }, undocumentedStatuses: ['ARCHIVED'] })
  t.equal(receiver.answers.total, 2, 'a dry run sends nothing')

  const real = await runCli(args)
  t.equal(real.code, 0, real.stderr)
  t.match(jsonOf<ReconcileJson>(real), { ok: true, dryRun: false, summary: { listed: 8, skipped: 2, missed: 4, duplicate: 2, queued: 0, accepted: 0, failed: 0 } })
  t.same([...receiver.runs.values()].filter((n) => n !== 1), [], 'no state change processed twice')
  t.equal(receiver.runs.size, 6)
  t.equal(receiver.bodies.filter((body) => body.reconciled === true).length, 4, 'the missed ones arrive marked reconciled')

  const again = await runCli(args.filter((arg) => arg !== '--json'))
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /│ missed \(now processed\) +│ 0 +│/)
  t.match(again.stdout, /│ duplicate +│ 6 +│/)
  t.match(again.stdout, /│ jobs listed +│ 8 +│/)
})

t.test('reconcile: a refused API key exits 1 naming the project; a missing --app is a usage error', async (t) => {
  const api = await startFakeSuperai(t)
  const receiver = await startReceiver(t)
  const refused = await runCli(['reconcile', receiver.url, '--api-key', 'wrong', '--app', APP_ID, '--base-url', api.baseUrl, '--json'])
  t.equal(refused.code, 1)
  t.match(jsonOf<ReconcileJson>(refused), { ok: false, summary: { failed: 1, listed: 0 }, errors: [{ app: APP_ID, message: /401/ }] })
  const usage = await runCli(['reconcile', receiver.url, '--api-key', 'k'])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /missing --app/)
  t.equal(receiver.answers.total, 0)
})

t.test('reconcile against a queue-mode receiver: every 202 counted queued (text and --json), the rest duplicates, exit 0', async (t) => {
  const api = await startFakeSuperai(t)
  const receiver = await startReceiver(t, { queue: {} })
  const jobs = Array.from({ length: 4 }, () => api.addJob({ appId: APP_ID, status: 'COMPLETED' }))
  const args = ['reconcile', receiver.url, '--api-key', api.apiKey, '--app', APP_ID, '--since', '2h', '--base-url', api.baseUrl]
  const first = await runCli([...args, '--json'])
  t.equal(first.code, 0, first.stderr)
  t.match(jsonOf<ReconcileJson>(first), { ok: true, summary: { listed: 4, missed: 0, queued: 4, accepted: 0, duplicate: 0, failed: 0 } })
  t.equal(receiver.answers.queued, 4, 'what the receiver answered')
  const again = await runCli(args)
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /│ duplicate +│ 4 +│/)
  t.notMatch(again.stdout, /queued \(202\)/, 'nothing new to queue the second time')
  t.equal(jobs.length, 4)
})

t.test('reconcile: a receiver answering another 2xx is counted accepted; one refusing is failed and exits 1', async (t) => {
  const api = await startFakeSuperai(t)
  api.addJob({ appId: APP_ID, status: 'COMPLETED' })
  const Fastify = (await import('fastify')).default
  const other = Fastify()
  let answer = 204
  other.post('/', async (_request, reply) => await reply.code(answer).send())
  t.teardown(async () => { await other.close() })
  const url = `${await other.listen({ port: 0, host: '127.0.0.1' })}/`
  const args = ['reconcile', url, '--api-key', api.apiKey, '--app', APP_ID, '--base-url', api.baseUrl, '--json', '--retries', '0']
  const accepted = await runCli(args)
  t.equal(accepted.code, 0, accepted.stderr)
  t.match(jsonOf<ReconcileJson>(accepted), { ok: true, summary: { listed: 1, accepted: 1, queued: 0, missed: 0, failed: 0 } })
  answer = 422
  const refused = await runCli(args)
  t.equal(refused.code, 1)
  t.match(jsonOf<ReconcileJson>(refused), { ok: false, summary: { listed: 1, accepted: 0, failed: 1 } })
})
