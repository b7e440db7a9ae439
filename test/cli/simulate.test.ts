import t, { type Test } from 'tap'
import { entityEventNameOf, eventNameOf } from '../../src/events.js'
import { planSimulation } from '../../src/cli/plan.js'
import type { Summary } from '../../src/cli/report.js'
import { runCliHere } from '../helpers/cli.js'
import { jsonOf, redisAvailable, runCli, startReceiver, type Receiver } from '../helpers/receiver.js'
import { REDIS_URL } from '../helpers/callbacks.js'

// Each case runs the CLI as a child process against a real server: slower than the default file timeout.
t.setTimeout(180_000)

interface SimulateJson {
  readonly ok: boolean
  readonly seed: string
  readonly plannedDeliveries: number
  readonly summary: Summary
}

/** The stream `simulate --seed` sends is the one planSimulation computes; the server saw each callback's handlers run once. */
async function checkSimulation (t: Test, receiver: Receiver, seed: number, jobs: number, batches = 0): Promise<void> {
  const run = await runCliHere(['simulate', receiver.url, '--jobs', String(jobs), '--batches', String(batches), '--duplicates', '0.3', '--seed', String(seed),
    '--concurrency', '16', '--max-wait', '1', '--json'])
  t.equal(run.code, 0, run.stderr)
  const { ok, summary, plannedDeliveries } = jsonOf<SimulateJson>(run)
  const plan = planSimulation({ jobs, batches, duplicates: 0.3, seed })
  t.equal(ok, true)

  // Client side: the counts add up.
  t.equal(summary.callbacks, plan.callbacks.length)
  t.equal(summary.deliveries, plan.deliveries)
  t.equal(plannedDeliveries, plan.deliveries)
  t.ok(plan.deliveries > plan.callbacks.length * 1.2, 'a share was delivered more than once')
  t.equal(summary.processed, plan.callbacks.length, 'each distinct callback reported processed once')
  t.equal(summary.duplicates, plan.deliveries - plan.callbacks.length, 'every redelivery reported as a duplicate')
  t.equal(summary.failed, 0)
  t.equal(summary.processedMoreThanOnce, 0)
  t.equal(summary.requests, summary.deliveries + summary.retries)
  t.equal(summary.inFlight409, summary.errorsByStatus['409'] ?? 0)

  // Server side: every callback's handlers ran exactly once, and the answers match the summary.
  t.equal(receiver.runs.size, plan.callbacks.length, 'every distinct callback reached the handlers')
  t.same([...new Set(receiver.runs.values())], [1], 'no callback handler ran twice')
  const expectedNamed = new Map<string, number>()
  for (const callback of plan.callbacks) {
    const names = callback.kind === 'job'
      ? [eventNameOf(callback.body.state, callback.body.action)]
      : [entityEventNameOf(callback.body.entityType, callback.body.state), 'entity']
    for (const name of names) if (name !== undefined) expectedNamed.set(name, (expectedNamed.get(name) ?? 0) + 1)
  }
  t.same(Object.fromEntries(receiver.named), Object.fromEntries(expectedNamed), 'named events ran once per callback')
  const jobUuids = plan.callbacks.flatMap((c) => c.kind === 'job' ? [c.body.uuid] : [])
  t.same(new Set(receiver.bodies.filter((b) => b.version !== '2').map((b) => b.uuid)), new Set(jobUuids), 'the seeded jobs')
  t.equal(receiver.bodies.filter((b) => b.version === '2').length, batches, 'each batch callback reached entity once')
  t.equal(receiver.answers.total, summary.requests)
  t.equal(receiver.answers.processed, summary.processed)
  t.equal(receiver.answers.duplicates, summary.duplicates)
  t.equal(receiver.answers.byStatus.get(409) ?? 0, summary.inFlight409)
}

t.test('simulate --jobs 200 --duplicates 0.3 --seed 1: handlers once per distinct callback, counts match (memory store)', async (t) => {
  await checkSimulation(t, await startReceiver(t), 1, 200)
})

const redisUp = await redisAvailable()
t.test('simulate against the Redis store', { skip: redisUp ? false : `no Redis at ${REDIS_URL}` }, async (t) => {
  await checkSimulation(t, await startReceiver(t, { redis: true }), 2, 200)
})

t.test('simulate --batches mixes v2 batch callbacks in: each handled once, redeliveries duplicates (Redis store)', { skip: redisUp ? false : `no Redis at ${REDIS_URL}` }, async (t) => {
  await checkSimulation(t, await startReceiver(t, { redis: true }), 6, 60, 40)
})

t.test('simulate in text mode prints the summary table with the seed', async (t) => {
  const receiver = await startReceiver(t)
  const run = await runCliHere(['simulate', receiver.url, '--jobs', '10', '--seed', 'words-work', '--max-wait', '1'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /simulate 10 jobs → http:\/\/127\.0\.0\.1:\d+\/superai\/callbacks\/ \(seed words-work\)/)
  for (const row of ['callbacks (distinct)', 'processed', 'duplicates reported', '409 in flight', 'errors by status', 'latency p50/p95/p99']) {
    t.match(run.stdout, new RegExp(`│ ${row.replace(/[()/]/g, '\\$&')} +│`), row)
  }
})

t.test('rerunning a seed against the same store: every delivery is a duplicate, nothing runs twice', async (t) => {
  const receiver = await startReceiver(t)
  const args = ['simulate', receiver.url, '--jobs', '20', '--seed', '5', '--max-wait', '1', '--json']
  t.equal((await runCliHere(args)).code, 0)
  const rerun = await runCliHere(args)
  t.equal(rerun.code, 0)
  const { summary } = jsonOf<SimulateJson>(rerun)
  t.equal(summary.processed, 0)
  t.equal(summary.duplicates, summary.deliveries)
  t.equal(summary.alreadyKnown, summary.callbacks)
  t.same([...new Set(receiver.runs.values())], [1])
})

t.test('--rate paces the deliveries; Ctrl-C stops the run with exit 130 and a summary', async (t) => {
  const receiver = await startReceiver(t)
  const run = await runCli(['simulate', receiver.url, '--jobs', '100', '--rate', '20/s', '--seed', '3', '--json'], {
    // 2.5 s from the first delivery, not from the spawn: a loaded machine may take seconds to start the CLI
    onSpawn: (child) => {
      const deadline = Date.now() + 30_000
      const poll = setInterval(() => {
        if (receiver.answers.total === 0 && child.exitCode === null && Date.now() < deadline) return
        clearInterval(poll)
        setTimeout(() => child.kill('SIGINT'), 2500)
      }, 20)
    }
  })
  t.equal(run.code, 130)
  const result = jsonOf<SimulateJson & { interrupted: boolean }>(run)
  t.equal(result.interrupted, true)
  t.ok(result.summary.deliveries > 25 && result.summary.deliveries < 75, `paced: ${result.summary.deliveries} deliveries in ~2.5 s at 20/s`)
  t.equal(receiver.answers.total, result.summary.requests)
})
