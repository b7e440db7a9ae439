import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { test } from 'tap'
import { DeliveryPipeline } from '../../src/delivery/pipeline.js'
import { defaultIdempotencyKey } from '../../src/delivery/idempotency-key.js'
import { Observer } from '../../src/observability.js'
import { HANDOFF_WAIT_MS, QueueHandoff, type Enqueue } from '../../src/queue/handoff.js'
import { MemoryStore } from '../../src/store/memory.js'
import type { ClaimResult, IdempotencyStore } from '../../src/store/store.js'

const LEASE_MS = 30_000

/** A logger that keeps its error lines, to check that a failed hand-off is told. */
function recordingLog (): { log: FastifyBaseLogger, errors: string[] } {
  const errors: string[] = []
  const log = {
    info () {},
    warn () {},
    debug () {},
    fatal () {},
    trace () {},
    silent () {},
    level: 'info',
    error (_fields: unknown, message: string) { errors.push(message) },
    child () { return log }
  }
  return { log: log as unknown as FastifyBaseLogger, errors }
}

/**
 * A pipeline whose step after the claim is the hand-off, over a real store; `claims` lists what each
 * claim found, so that a test sees whether a delivery waited its turn (one claim) or polled (several).
 */
function build (enqueue: Enqueue) {
  const store = new MemoryStore()
  const claims: string[] = []
  const recording: IdempotencyStore = {
    claim: async (key: string, token: string, leaseMs: number): Promise<ClaimResult> => {
      const claimed = await store.claim(key, token, leaseMs)
      claims.push(claimed.status)
      return claimed
    },
    complete: async (key, token, ttlMs) => await store.complete(key, token, ttlMs),
    release: async (key, token) => await store.release(key, token)
  }
  const pipeline = new DeliveryPipeline({
    settings: { keyPrefix: '', ttlMs: 60_000, leaseMs: LEASE_MS, idempotencyKey: defaultIdempotencyKey, unknownValues: 'accept' },
    store: recording,
    observer: new Observer(),
    step: new QueueHandoff(enqueue)
  })
  const { log, errors } = recordingLog()
  const queue = {
    deliver: async (key: string) => await pipeline.deliver({ event: event(), key }, { source: 'queue', attempt: 1 }, log)
  }
  return { store, claims, queue, errors, delivery: (key: string) => key }
}

const event = () => ({ id: '1', uuid: '00000000-0000-4000-8000-000000000000', state: 'COMPLETED', action: 'RESOLVED' }) as const

test('two hand-offs of one key take turns: the second finds the first stored, without polling', async (t) => {
  let active = 0
  let overlapped = false
  const handed: string[] = []
  const { queue, claims, delivery } = build(async ({ key }) => {
    if (++active > 1) overlapped = true
    await sleep(50)
    handed.push(key)
    active--
  })
  const outcomes = await Promise.all([queue.deliver(delivery('k')), queue.deliver(delivery('k'))])
  t.same(outcomes.map((o) => o.status), ['queued', 'duplicate'])
  t.same(handed, ['k'])
  t.notOk(overlapped)
  t.same(claims, ['claimed', 'processed'], 'the second claimed once, after the first had settled')
})

test('hand-offs of different keys do not wait for each other', async (t) => {
  const started: string[] = []
  let open!: () => void
  const gate = new Promise<void>((resolve) => { open = resolve })
  const { queue, delivery } = build(async ({ key }) => { started.push(key); await gate })
  const outcomes = Promise.all([queue.deliver(delivery('a')), queue.deliver(delivery('b'))])
  await sleep(20)
  t.same(started, ['a', 'b'], 'both under way at once')
  open()
  t.same((await outcomes).map((o) => o.status), ['queued', 'queued'])
})

test('a failing hand-off releases the claim, is logged, and the delivery waiting its turn stores the callback', async (t) => {
  let fail = true
  const handed: string[] = []
  const { queue, store, claims, errors, delivery } = build(async ({ key }) => {
    await sleep(20)
    if (fail) { fail = false; throw new Error('queue down') }
    handed.push(key)
  })
  const [failed, next] = await Promise.all([queue.deliver(delivery('k')), queue.deliver(delivery('k'))])
  t.match(failed, { status: 'storeUnavailable', error: { code: 'FST_SUPERAI_STORE_UNAVAILABLE', statusCode: 503 } })
  t.same(errors, ['super.AI callback: could not store it in the queue'])
  t.equal(next?.status, 'queued')
  t.same(claims, ['claimed', 'claimed'], 'released before the next one claimed')
  t.same(handed, ['k'])
  t.same(await store.claim('k', 'late', LEASE_MS), { status: 'processed' })
})

test('a failed hand-off alone leaves the key free for the next delivery', async (t) => {
  const { queue, store, delivery } = build(async () => { throw new Error('queue down') })
  t.equal((await queue.deliver(delivery('k'))).status, 'storeUnavailable')
  t.same(await store.claim('k', 'next', LEASE_MS), { status: 'claimed' })
})

test('another process\'s claim is polled until it settles: stored there is a duplicate here', async (t) => {
  const { queue, store, claims, delivery } = build(async () => { t.fail('stored twice') })
  await store.claim('k', 'other-process', LEASE_MS)
  setTimeout(() => { store.complete('k', 'other-process', 60_000).catch(t.error) }, 40)
  const started = performance.now()
  t.equal((await queue.deliver(delivery('k'))).status, 'duplicate')
  t.ok(performance.now() - started >= 35)
  t.equal(claims.at(-1), 'processed')
  t.ok(claims.length >= 2 && claims.slice(0, -1).every((status) => status === 'inFlight'))
})

test('another process\'s claim released meanwhile: this one stores the callback', async (t) => {
  const handed: string[] = []
  const { queue, store, delivery } = build(async ({ key }) => { handed.push(key) })
  await store.claim('k', 'other-process', LEASE_MS)
  setTimeout(() => { store.release('k', 'other-process').catch(t.error) }, 20)
  t.equal((await queue.deliver(delivery('k'))).status, 'queued')
  t.same(handed, ['k'])
})

test(`a claim held past ${HANDOFF_WAIT_MS} ms is in flight, polled with a growing pause`, async (t) => {
  const { queue, store, claims, delivery } = build(async () => { t.fail('stored while claimed elsewhere') })
  await store.claim('k', 'other-process', LEASE_MS)
  const started = performance.now()
  t.match(await queue.deliver(delivery('k')), { status: 'inFlight', retryAfter: 1 })
  const waited = performance.now() - started
  t.ok(waited >= HANDOFF_WAIT_MS - 5 && waited < HANDOFF_WAIT_MS + 1500, `waited ${Math.round(waited)} ms`)
  // pauses of 2, 4, 8, ... ms: about ten claims in a second, not hundreds
  t.ok(claims.length >= 2 && claims.length <= 12, `${claims.length} claims`)
})

test('a key already processed is a duplicate at once, without polling or a hand-off', async (t) => {
  const { queue, store, claims, delivery } = build(async () => { t.fail('stored a duplicate') })
  await store.complete('k', 'earlier', 60_000)
  t.equal((await queue.deliver(delivery('k'))).status, 'duplicate')
  t.same(claims, ['processed'])
})
