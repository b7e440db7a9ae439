import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import fc from 'fast-check'
import { Redis } from 'ioredis'
import { test, type Test } from 'tap'
import { Dispatcher, type HandlerContext } from '../../src/delivery/dispatcher.js'
import { defaultIdempotencyKey, jobMarksKey, stateChangeKey } from '../../src/delivery/idempotency-key.js'
import { DeliveryPipeline, type PipelineSettings } from '../../src/delivery/pipeline.js'
import { RunHandlers } from '../../src/delivery/run-handlers.js'
import { comesAfter, jobMarksOf, latestStateOf, stateKeysOf } from '../../src/delivery/supersession.js'
import { JOB_STATES, type JobState } from '../../src/events.js'
import { Observer } from '../../src/observability.js'
import type { CallbackBody, SuperaiEvent } from '../../src/schema.js'
import { MemoryStore } from '../../src/store/memory.js'
import { RedisStore } from '../../src/store/redis.js'
import type { IdempotencyStore } from '../../src/store/store.js'
import type { SuperaiJob } from '../../src/client/client.js'
import { REDIS_URL, callbackBody, deleteUnder, uniquePrefix } from '../helpers/callbacks.js'

/**
 * The states each callback state is behind, written out by hand from super.AI's documented lifecycle
 * (COMPLETED -> POST PROCESSING -> POST PROCESSED, or NEEDS REVIEW -> REVIEWED; FAILED, CANCELED and
 * EXPIRED end a job; a SUSPENDED job resumes and may reach any of them), as the oracle of these tests.
 */
const BEHIND: Record<JobState, readonly JobState[]> = {
  COMPLETED: ['POST PROCESSING', 'POST PROCESSED', 'NEEDS REVIEW', 'REVIEWED'],
  'POST PROCESSING': ['POST PROCESSED', 'NEEDS REVIEW', 'REVIEWED'],
  'NEEDS REVIEW': ['REVIEWED'],
  SUSPENDED: ['COMPLETED', 'POST PROCESSING', 'POST PROCESSED', 'NEEDS REVIEW', 'REVIEWED', 'FAILED', 'CANCELED', 'EXPIRED'],
  'POST PROCESSED': [],
  REVIEWED: [],
  FAILED: [],
  CANCELED: [],
  EXPIRED: []
}

const silent = { info () {}, warn () {}, error () {}, debug () {}, fatal () {}, trace () {}, child () { return silent }, level: 'silent', silent () {} } as unknown as FastifyBaseLogger
const http = { source: 'http', request: {} as FastifyRequest } as const

test('"comes after" is the documented lifecycle, a strict order with two branches', async (t) => {
  for (const state of JOB_STATES) {
    t.same(JOB_STATES.filter((later) => comesAfter(state, later)).sort(), [...BEHIND[state]].sort(), `${state} is behind ${BEHIND[state].join(', ') || 'nothing'}`)
  }
  for (const a of JOB_STATES) {
    t.notOk(comesAfter(a, a), `${a} is not behind itself`)
    for (const b of JOB_STATES) {
      if (comesAfter(a, b)) t.notOk(comesAfter(b, a), `${a} < ${b}, so not ${b} < ${a}`)
      for (const c of JOB_STATES) if (comesAfter(a, b) && comesAfter(b, c)) t.ok(comesAfter(a, c), `${a} < ${b} < ${c}`)
    }
  }
  t.notOk(comesAfter('POST PROCESSED', 'NEEDS REVIEW') || comesAfter('NEEDS REVIEW', 'POST PROCESSED'), 'two branches: neither')
})

test('jobMarksOf, default key: the claim reads the keys of the later states, the completion writes its own key; no key per job', async (t) => {
  const uuid = 'A1B2C3D4-0000-4000-8000-000000000000'
  const event = (overrides: Record<string, unknown>): SuperaiEvent => ({ id: '1', uuid, state: 'COMPLETED', action: 'RESOLVED', ...overrides }) as SuperaiEvent
  const settings = { keyPrefix: 'p:', idempotencyKey: defaultIdempotencyKey }
  const marks = jobMarksOf(event({}), settings, 'p:own')
  const later = ['REVIEWED', 'POST PROCESSING', 'POST PROCESSED', 'NEEDS REVIEW'] as const
  t.same(marks?.query.stateKeys.slice().sort(), later.map((state) => `p:${stateChangeKey(uuid, state)}`).sort(), 'the later states\' keys')
  t.equal(marks?.query.marksKey, `p:${jobMarksKey(uuid.toLowerCase())}`, 'and the marks key an earlier version kept, until it expires')
  t.same(marks?.record, { stateKey: 'p:own', announce: { channel: `p:processed:${uuid.toLowerCase()}`, state: 'COMPLETED' } },
    'recorded in the callback\'s own key, and announced on the job\'s channel (waitFor)')
  t.match(marks, { read: true, write: true })
  t.match(jobMarksOf(event({ state: 'POST PROCESSED' }), settings, 'k'), { read: false, write: true, query: { stateKeys: [] } }, 'an end: nothing is read, and it is recorded')
  t.match(jobMarksOf(event({ state: 'SUSPENDED' }), settings, 'k'), { read: true, write: true }, 'every state is recorded: its key is written anyway')
  t.equal(jobMarksOf(event({ action: 'EDITED' }), settings, 'k'), undefined, 'another action')
  t.equal(jobMarksOf(event({ state: 'ARCHIVED' }), settings, 'k'), undefined, 'an undocumented state')
  t.equal(jobMarksOf({ version: '2', entityType: 'batch', entityId: 'x', state: 'COMPLETED' } as SuperaiEvent<'entity'>, settings, 'k'), undefined, 'a v2 callback')
  const paused = jobMarksOf(event({ state: 'SUSPENDED' }), settings, 'k')?.query
  t.equal(new Set(paused?.stateBits).size, JOB_STATES.length - 1, 'a bit of its own per state (every one but SUSPENDED can follow a pause)')
  t.ok(paused?.stateBits.every((bit) => bit > 0 && bit < 2 ** 31 && (bit & (bit - 1)) === 0), 'single bits of a 31-bit integer')
  t.same(stateKeysOf(uuid, 'p:').map(({ key }) => key), JOB_STATES.map((state) => `p:${stateChangeKey(uuid, state)}`), 'every state\'s key, for reading a job\'s processed states')
  t.equal(latestStateOf('COMPLETED', 0), undefined)
})

test('jobMarksOf, custom key: one marks key per job, a bit per state, as earlier versions kept', async (t) => {
  const event = (overrides: Record<string, unknown>): SuperaiEvent => ({ id: '1', uuid: 'A1B2C3D4-0000-4000-8000-000000000000', state: 'COMPLETED', action: 'RESOLVED', ...overrides }) as SuperaiEvent
  const settings = { keyPrefix: 'p:', idempotencyKey: (e: SuperaiEvent) => e.uuid }
  const marks = jobMarksOf(event({}), settings, 'p:own')
  const marksKey = `p:${jobMarksKey('a1b2c3d4-0000-4000-8000-000000000000')}`
  t.same(marks?.query, { marksKey, stateKeys: [], stateBits: [] })
  t.match(marks?.record, { marksKey, announce: { channel: 'p:processed:a1b2c3d4-0000-4000-8000-000000000000', state: 'COMPLETED' } })
  t.match(jobMarksOf(event({ state: 'POST PROCESSED' }), settings, 'k'), { read: false, write: true }, 'an end: nothing can supersede it, so nothing is read')
  t.match(jobMarksOf(event({ state: 'SUSPENDED' }), settings, 'k'), { read: true, write: false }, 'nothing comes before a pause: its mark would tell nothing')
  t.match(marksKey, /^p:job:[\w-]{22}$/)
  t.match(jobMarksOf(event({ state: 'REVIEWED' }), settings, 'k')?.record, { marksKey }, 'every state of a job: one key')
  const bits = JOB_STATES.map((state) => (jobMarksOf(event({ state }), settings, 'k')?.record as { mark?: number } | undefined)?.mark ?? 0)
  t.equal(new Set(bits).size, JOB_STATES.length, 'a bit of its own per state')
})

/** A pipeline whose `callback` handler fails when told to, recording each run's context. */
function harness (store: IdempotencyStore, keyPrefix: string, idempotencyKey = defaultIdempotencyKey) {
  const settings: PipelineSettings = { keyPrefix, ttlMs: 60_000, leaseMs: 30_000, idempotencyKey, unknownValues: 'accept' }
  const dispatcher = new Dispatcher()
  const pipeline = new DeliveryPipeline({ settings, store, observer: new Observer(), step: new RunHandlers({ dispatcher }) })
  let fail = false
  let last: HandlerContext | undefined
  dispatcher.on('callback', (_event, context) => {
    last = context
    if (fail) throw new Error('handler failed')
  })
  return {
    async deliver (uuid: string, state: JobState, failing: boolean) {
      fail = failing
      last = undefined
      const outcome = await pipeline.deliver({ body: callbackBody({ uuid, state }) as CallbackBody }, http, silent)
      return { status: outcome.status, context: last as HandlerContext | undefined }
    },
    async reconcile (event: SuperaiEvent, job: SuperaiJob) {
      last = undefined
      const outcome = await pipeline.deliver({ event }, { source: 'reconcile', job }, silent)
      return { status: outcome.status, context: last as HandlerContext | undefined }
    }
  }
}

/** A job's deliveries: states in any order, repeated or not, each failing its handler or not. */
const deliveries = fc.array(fc.record({ state: fc.constantFrom(...JOB_STATES), failing: fc.boolean() }), { minLength: 1, maxLength: 14 })
  .map((list) => list.map(({ state, failing }, i) => ({ state, failing: failing && i % 3 === 0 })))

/**
 * For any interleaving processed one after another: a state already processed is a duplicate; any other
 * runs, flagged exactly when a state processed before it (handlers succeeded) is one it is behind, and
 * told the furthest of those; a failed one is not remembered.
 */
async function checkInterleavings (t: Test, store: IdempotencyStore, keyPrefix: string, numRuns: number, idempotencyKey = defaultIdempotencyKey): Promise<void> {
  const { deliver } = harness(store, keyPrefix, idempotencyKey)
  let jobs = 0
  await fc.assert(fc.asyncProperty(deliveries, async (list) => {
    const uuid = `00000000-0000-4000-8000-${String(jobs++).padStart(12, '0')}`
    const processed = new Set<JobState>()
    for (const { state, failing } of list) {
      const { status, context } = await deliver(uuid, state, failing)
      if (processed.has(state)) {
        if (status !== 'duplicate') throw new Error(`${state} again: ${status}, not a duplicate`)
        continue
      }
      if (status !== (failing ? 'failed' : 'processed') || context === undefined) throw new Error(`${state}: ${status}`)
      const later = [...processed].filter((p) => BEHIND[state].includes(p))
      if (context.superseded !== (later.length > 0)) throw new Error(`${state} after ${[...processed].join(', ')}: superseded ${String(context.superseded)}`)
      if (later.length > 0) {
        const latest = context.latestState
        if (latest === undefined || !later.includes(latest)) throw new Error(`${state}: told ${String(latest)}, not one of ${later.join(', ')}`)
        if (later.some((p) => BEHIND[latest].includes(p))) throw new Error(`${state}: told ${latest}, but a further one was processed`)
      } else if (context.latestState !== undefined) {
        throw new Error(`${state}: a latestState without superseded`)
      }
      if (!failing) processed.add(state)
    }
  }), { numRuns })
  t.pass(`${numRuns} interleavings`)
}

test('property: the flag is true exactly for the states behind one already processed (memory store)', async (t) => {
  await checkInterleavings(t, new MemoryStore(), 'test:', 400)
})

test('property: the same on Redis, the scripts doing the reading and the marking', async (t) => {
  const redis = new Redis(REDIS_URL)
  const prefix = uniquePrefix('supersession')
  t.teardown(async () => {
    await deleteUnder(redis, prefix)
    await redis.quit()
  })
  await checkInterleavings(t, await RedisStore.create(redis), prefix, 60)
  t.test('a custom idempotencyKey: the per-job marks key', async (t) => {
    await checkInterleavings(t, await RedisStore.create(redis), prefix + 'custom:', 40, customKey)
  })
})

/** A key of the user's own: not derivable from (uuid, state) by the plugin. */
const customKey = (event: SuperaiEvent): string => `${event.uuid}/${event.state}/${event.action}`

test('property, memory store, a custom idempotencyKey: the same, through the per-job marks key', async (t) => {
  await checkInterleavings(t, new MemoryStore(), 'test:', 200, customKey)
})

test('rolling deploy: a per-job marks key an earlier version wrote still counts until it expires', async (t) => {
  const redis = new Redis(REDIS_URL)
  const prefix = uniquePrefix('supersession-marks')
  t.teardown(async () => {
    await deleteUnder(redis, prefix)
    await redis.quit()
  })
  const uuid = '00000000-0000-4000-8000-00000000beef'
  // what the previous version's completion of POST PROCESSED left: the bit of POST PROCESSED in the job's marks
  const postProcessed = (jobMarksOf({ id: '1', uuid, state: 'POST PROCESSED', action: 'RESOLVED' } as SuperaiEvent, { keyPrefix: prefix, idempotencyKey: customKey }, 'k')?.record as { mark: number }).mark
  await redis.set(prefix + jobMarksKey(uuid), String(postProcessed), 'PX', 300)
  const { deliver } = harness(await RedisStore.create(redis), prefix)
  const late = await deliver(uuid, 'COMPLETED', false)
  t.same([late.status, late.context?.superseded, late.context?.latestState], ['processed', true, 'POST PROCESSED'], 'read beside the state keys, in the same claim')
  t.equal(await redis.get(prefix + jobMarksKey(uuid)), String(postProcessed), 'and never written again')
  await sleep(350)
  const other = '00000000-0000-4000-8000-00000000bee0'
  await redis.set(prefix + jobMarksKey(other), String(postProcessed), 'PX', 1)
  await sleep(5)
  t.same((await deliver(other, 'COMPLETED', false)).context?.superseded, false, 'once expired it tells nothing')
})

test('keys per state change on a real Redis: one, holding HANDLED, and the job\'s processed states read from them', async (t) => {
  const redis = new Redis(REDIS_URL)
  const prefix = uniquePrefix('supersession-keys')
  t.teardown(async () => {
    await deleteUnder(redis, prefix)
    await redis.quit()
  })
  const store = await RedisStore.create(redis)
  const { deliver } = harness(store, prefix)
  const uuid = '00000000-0000-4000-8000-00000000cafe'
  const keys = stateKeysOf(uuid, prefix)
  const marksKey = prefix + jobMarksKey(uuid)
  const counted = async (): Promise<number> => await redis.exists(marksKey, ...keys.map(({ key }) => key))
  t.equal(await counted(), 0)
  await deliver(uuid, 'COMPLETED', false)
  t.equal(await counted(), 1, 'COMPLETED: its own key, no key per job')
  await deliver(uuid, 'POST PROCESSING', true)
  t.equal(await counted(), 1, 'a failed state change leaves nothing')
  await deliver(uuid, 'POST PROCESSED', false)
  t.equal(await counted(), 2, 'POST PROCESSED: one more')
  t.same(await store.handled(keys.map(({ key }) => key)), keys.map(({ state }) => state === 'COMPLETED' || state === 'POST PROCESSED'), 'handled: the job\'s processed states, read at once')
  t.equal(await redis.get(keys.find(({ state }) => state === 'COMPLETED')?.key ?? ''), '2', 'the value says the handlers succeeded')
})

test('a reconciled state change is told too (context source "reconcile")', async (t) => {
  const { deliver, reconcile } = harness(new MemoryStore(), 'test:')
  const uuid = '00000000-0000-4000-8000-00000000abcd'
  t.equal((await deliver(uuid, 'POST PROCESSED', false)).status, 'processed')
  const event = { id: '1', uuid, state: 'COMPLETED', action: 'RESOLVED', reconciled: true } as SuperaiEvent
  const job = { uuid, status: 'POST_PROCESSED' } as unknown as SuperaiJob
  const { status, context } = await reconcile(event, job)
  t.equal(status, 'processed')
  t.same([context?.source, context?.superseded, context?.latestState], ['reconcile', true, 'POST PROCESSED'])
})
