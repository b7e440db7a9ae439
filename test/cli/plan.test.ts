import t from 'tap'
import { JOB_ACTIONS, JOB_STATES } from '../../src/events.js'
import { planSimulation, type SimulatedCallback, type SimulationPlan } from '../../src/cli/plan.js'
import { createRandom } from '../../src/sandbox/prng.js'
import { Tally, percentile, renderSummary } from '../../src/cli/report.js'
import { headers, integerFlag, rate } from '../../src/cli/args.js'
import type { DeliveryResult } from '../../src/cli/deliver.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

type JobCallback = Extract<SimulatedCallback, { kind: 'job' }>
const jobCallbacks = (plan: SimulationPlan): JobCallback[] => plan.callbacks.flatMap((c) => c.kind === 'job' ? [c] : [])

t.test('the PRNG is deterministic per seed, and strings seed it too', async (t) => {
  const draw = (seed: number | string): number[] => { const r = createRandom(seed); return Array.from({ length: 5 }, r.next) }
  t.same(draw(1), draw(1))
  t.not(JSON.stringify(draw(1)), JSON.stringify(draw(2)))
  t.same(draw('run-42'), draw('run-42'))
  const random = createRandom(9)
  const ints = new Set(Array.from({ length: 1000 }, () => random.int(3, 7)))
  t.same([...ints].sort(), [3, 4, 5, 6, 7], 'int() covers its bounds and stays within them')
  t.match(random.uuid(), UUID)
})

t.test('a seed replays the same plan; another seed gives another', async (t) => {
  const a = planSimulation({ jobs: 50, duplicates: 0.3, seed: 1 })
  t.same(planSimulation({ jobs: 50, duplicates: 0.3, seed: 1 }), a)
  t.not(planSimulation({ jobs: 50, duplicates: 0.3, seed: 2 }).callbacks[0]?.body.uuid, a.callbacks[0]?.body.uuid)
})

t.test('callbacks look like super.AI sends them, and distinct callbacks have distinct bodies', async (t) => {
  const plan = planSimulation({ jobs: 500, duplicates: 0.3, seed: 3 })
  const states: ReadonlySet<string> = new Set(JOB_STATES)
  const actions: ReadonlySet<string> = new Set(JOB_ACTIONS)
  const bodies = new Set<string>()
  const uuids = new Set<string>()
  const malformed = jobCallbacks(plan).filter(({ body }) =>
    !states.has(body.state) || !actions.has(body.action) || !UUID.test(body.uuid) || !/^\d+$/.test(body.id) ||
    (body.postProcessingEnabled !== 'true' && body.postProcessingEnabled !== 'false'))
  t.same(malformed, [], 'documented states and actions, uuid, numeric id, string flag')
  for (const { body } of jobCallbacks(plan)) {
    bodies.add(JSON.stringify(body))
    uuids.add(body.uuid)
  }
  t.equal(bodies.size, plan.callbacks.length, 'no two distinct callbacks share a body')
  t.equal(uuids.size, 500, 'one uuid per job')
  const seen = new Set(jobCallbacks(plan).map(({ body }) => `${body.state}/${body.action}`))
  for (const walked of ['COMPLETED/RESOLVED', 'POST PROCESSED/RESOLVED', 'NEEDS REVIEW/RESOLVED', 'FAILED/RESOLVED', 'COMPLETED/EDITED', 'COMPLETED/TAG ADDED']) {
    t.ok(seen.has(walked), `a job walks through ${walked}`)
  }
  const byJob = new Map<number, string[]>()
  for (const { job, body } of jobCallbacks(plan)) byJob.set(job, [...(byJob.get(job) ?? []), body.state])
  const outOfOrder = [...byJob.values()].filter((walk) => walk.includes('POST PROCESSING') &&
    !(walk.indexOf('COMPLETED') >= 0 && walk.indexOf('COMPLETED') < walk.indexOf('POST PROCESSING')))
  t.same(outOfOrder, [], 'post-processing follows completion')
})

t.test('--batches mixes v2 batch callbacks into the stream, leaving the jobs of the seed as they were', async (t) => {
  const jobsOnly = planSimulation({ jobs: 100, duplicates: 0.3, seed: 8 })
  const mixed = planSimulation({ jobs: 100, batches: 40, duplicates: 0.3, seed: 8 })
  t.same(jobCallbacks(mixed), jobCallbacks(jobsOnly), 'the same job callbacks')
  const batches = mixed.callbacks.flatMap((c) => c.kind === 'batch' ? [c.body] : [])
  t.equal(batches.length, 40)
  for (const body of batches) {
    t.match(body, { version: '2', entityType: 'batch', appId: mixed.appId })
    t.match(body.entityId, UUID)
  }
  t.same(new Set(batches.map((body) => body.state)), new Set(['COMPLETED', 'PARTIAL_FAILURE', 'FAILED']))
  t.ok(mixed.items.some((item) => (mixed.callbacks[item.callback]?.kind === 'batch') && (item.kind !== 'original' || item.copies > 1)), 'batches are redelivered too')
})

t.test('--duplicates is the share of callbacks redelivered: concurrently, shortly after, or late', async (t) => {
  const none = planSimulation({ jobs: 300, duplicates: 0, seed: 4 })
  t.equal(none.deliveries, none.callbacks.length)
  t.ok(none.items.every((item) => item.kind === 'original'))

  const all = planSimulation({ jobs: 300, duplicates: 1, seed: 4 })
  const redelivered = new Set(all.items.filter((i) => i.kind !== 'original' || i.copies > 1).map((i) => i.callback))
  t.equal(redelivered.size, all.callbacks.length)

  const some = planSimulation({ jobs: 2000, duplicates: 0.3, seed: 4 })
  const share = new Set(some.items.filter((i) => i.kind !== 'original' || i.copies > 1).map((i) => i.callback)).size / some.callbacks.length
  t.ok(share > 0.27 && share < 0.33, `share ${share.toFixed(3)}`)
  t.same(new Set(some.items.map((i) => i.kind)), new Set(['original', 'concurrent', 'redelivery', 'late']))
  t.equal(some.deliveries, some.items.reduce((n, i) => n + i.copies, 0))
  // Every callback is delivered at least once, and no redelivery comes before its original.
  const firstAt = new Map<number, number>()
  for (const item of some.items) if (!firstAt.has(item.callback)) firstAt.set(item.callback, item.at)
  t.equal(firstAt.size, some.callbacks.length)
  t.ok(some.items.every((item) => item.at >= (firstAt.get(item.callback) ?? Infinity)))
})

const result = (outcome: DeliveryResult['outcome'], statuses: number[]): DeliveryResult => ({
  outcome, status: statuses[statuses.length - 1] ?? 0, body: undefined, attempts: statuses.map((status, i) => ({ status, latencyMs: i + 1 }))
})

t.test('the tally counts deliveries, retries, 409s, errors by status and double processing', async (t) => {
  const tally = new Tally(3)
  tally.record(0, result('processed', [200]))
  tally.record(0, result('duplicate', [409, 200]))
  tally.record(1, result('processed', [500, 200]))
  tally.record(1, result('processed', [200]))
  tally.record(2, result('failed', [503, 503, 0]))
  const summary = tally.summary()
  t.match(summary, {
    callbacks: 3,
    deliveries: 5,
    requests: 9,
    retries: 4,
    processed: 3,
    duplicates: 1,
    failed: 1,
    inFlight409: 1,
    errorsByStatus: { 0: 1, 409: 1, 500: 1, 503: 2 },
    processedMoreThanOnce: 1,
    alreadyKnown: 0
  })
  const text = renderSummary(summary, 'title')
  t.match(text, /│ errors by status +│ no answer: 1, 409: 1, 500: 1, 503: 2 +│/)
  t.match(text, /│ processed twice +│ 1 +│/)
})

t.test('percentiles are nearest-rank', async (t) => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1)
  t.equal(percentile(values, 50), 50)
  t.equal(percentile(values, 95), 95)
  t.equal(percentile(values, 99), 99)
  t.equal(percentile([7], 99), 7)
  t.equal(percentile([], 50), 0)
})

t.test('option parsers', async (t) => {
  t.equal(rate('50/s'), 50)
  t.equal(rate('2.5'), 2.5)
  t.equal(rate(undefined), undefined)
  t.throws(() => rate('0'), { name: 'UsageError' })
  t.equal(integerFlag('n', ' 12 ', 1, 1, 20), 12)
  t.throws(() => integerFlag('n', '1e3', 1, 1, 5000), { message: /--n must be an integer/ })
  t.same(headers(['Authorization: Bearer a:b', 'X-Token:  t ']), { authorization: 'Bearer a:b', 'x-token': 't' })
  t.throws(() => headers([': nameless']), { name: 'UsageError' })
})
