import t from 'tap'
import { planSimulation } from '../../src/cli/plan.js'
import type { DeliveryResult } from '../../src/cli/deliver.js'
import type { Summary } from '../../src/cli/report.js'
import { waitFor } from '../helpers/queue.js'
import { runCliHere as runCli } from '../helpers/cli.js'
import { jsonOf, startForgetfulReceiver, startReceiver } from '../helpers/receiver.js'

// The CLI against the plugin in queue mode (real Redis, real BullMQ worker), each run a child process.
t.setTimeout(180_000)

interface RunJson {
  readonly ok: boolean
  readonly deliveries?: readonly DeliveryResult[]
  readonly summary: Summary
}

const JOB_UUID = '0b6a4d2e-7c1f-4e8a-9b3d-5f2e1a7c9d40'

t.test('send --repeat 2 to a queue-mode receiver: queued, then a duplicate; no error, nothing "already known", exit 0', async (t) => {
  const receiver = await startReceiver(t, { queue: {} })
  const run = await runCli(['send', receiver.url, '--repeat', '2', '--uuid', JOB_UUID, '--id', '42', '--json'])
  t.equal(run.code, 0, run.stderr)
  const { ok, summary, deliveries } = jsonOf<RunJson>(run)
  t.equal(ok, true)
  t.same(deliveries?.map((d) => [d.status, d.outcome]), [[202, 'queued'], [200, 'duplicate']])
  t.match(summary, { callbacks: 1, deliveries: 2, requests: 2, processed: 0, queued: 1, duplicates: 1, accepted: 0, failed: 0, processedMoreThanOnce: 0, alreadyKnown: 0 })
  t.same(summary.errorsByStatus, {}, 'a 202 is not an error')
  t.same([receiver.answers.queued, receiver.answers.duplicates], [1, 1], 'what the server answered')
  t.ok(await waitFor(() => receiver.runs.size === 1), 'the worker ran the handlers')
  t.same([...receiver.runs.values()], [1])

  const text = await runCli(['send', receiver.url, '--repeat', '2'])
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /#1 {2}202 {2}queued/)
  t.match(text.stdout, /#2 {2}200 {2}duplicate/)
  t.match(text.stdout, /│ processed +│ 0 +│/)
  t.match(text.stdout, /│ queued +│ 1 +│/)
  t.match(text.stdout, /│ errors by status +│ none +│/)
  t.notMatch(text.stdout, /already known/)

  // the same callback sent again later: the receiver knew it, as with a synchronous receiver
  const again = await runCli(['send', receiver.url, '--uuid', JOB_UUID, '--id', '42', '--json'])
  t.equal(again.code, 0, again.stderr)
  t.match(jsonOf<RunJson>(again).summary, { queued: 0, duplicates: 1, alreadyKnown: 1, processedMoreThanOnce: 0 })
  t.same(jsonOf<RunJson>(again).summary.errorsByStatus, {})
})

t.test('simulate --jobs 20 against a queue-mode receiver: every distinct callback queued once, the rest duplicates, no errors', async (t) => {
  const receiver = await startReceiver(t, { queue: { concurrency: 4 } })
  const seed = 11
  const run = await runCli(['simulate', receiver.url, '--jobs', '20', '--seed', String(seed), '--max-wait', '1', '--json'])
  t.equal(run.code, 0, run.stderr)
  const { ok, summary } = jsonOf<RunJson>(run)
  const plan = planSimulation({ jobs: 20, duplicates: 0.3, seed })
  t.equal(ok, true)
  t.equal(summary.deliveries, plan.deliveries)
  t.ok(plan.deliveries > plan.callbacks.length, 'some callbacks were delivered more than once')
  t.equal(summary.queued, plan.callbacks.length, 'each distinct callback queued once')
  t.equal(summary.duplicates, plan.deliveries - plan.callbacks.length)
  t.match(summary, { processed: 0, failed: 0, processedMoreThanOnce: 0, alreadyKnown: 0 })
  t.notOk('202' in summary.errorsByStatus, `no 202 among the errors: ${JSON.stringify(summary.errorsByStatus)}`)
  t.equal(receiver.answers.queued, summary.queued)
  t.ok(await waitFor(() => receiver.runs.size === plan.callbacks.length, 20_000), 'the workers handled every callback')
  t.same([...new Set(receiver.runs.values())], [1], 'each once')

  const text = await runCli(['simulate', receiver.url, '--jobs', '20', '--seed', String(seed), '--max-wait', '1'])
  t.equal(text.code, 0, text.stderr)
  t.notMatch(text.stdout, /│ queued/, 'the rerun: nothing new queued')
  t.match(text.stdout, new RegExp(`│ already known +│ ${plan.callbacks.length} +│`), 'a rerun seed: every callback already known')
})

t.test('"processed twice" is still caught: a receiver that takes every delivery as new fails the run (exit 1)', async (t) => {
  for (const answer of ['queued', 'processed'] as const) {
    const url = await startForgetfulReceiver(t, answer)
    const run = await runCli(['send', url, '--repeat', '2', '--json'])
    t.equal(run.code, 1, `${answer} twice`)
    const { ok, summary } = jsonOf<RunJson>(run)
    t.equal(ok, false)
    t.match(summary, { [answer]: 2, processedMoreThanOnce: 1, failed: 0 })
  }
  const url = await startForgetfulReceiver(t, 'queued')
  const run = await runCli(['simulate', url, '--jobs', '5', '--duplicates', '1', '--seed', '3', '--max-wait', '1'])
  t.equal(run.code, 1)
  t.match(run.stderr, /callbacks were taken as new \(processed or queued\) more than once: the receiver is not idempotent/)
})
