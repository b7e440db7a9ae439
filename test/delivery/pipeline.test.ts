import diagnosticsChannel from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { test } from 'tap'
import { Dispatcher } from '../../src/delivery/dispatcher.js'
import { DeliveryPipeline, type PipelineSettings } from '../../src/delivery/pipeline.js'
import { RunHandlers } from '../../src/delivery/run-handlers.js'
import { QueueHandoff, runClaimKey, type Enqueue } from '../../src/queue/handoff.js'
import { defaultIdempotencyKey } from '../../src/delivery/idempotency-key.js'
import { DELIVERY_CHANNEL, HANDLE_CHANNEL, Observer, type DeliveryMessage } from '../../src/observability.js'
import { MemoryStore } from '../../src/store/memory.js'
import type { ClaimResult, IdempotencyStore } from '../../src/store/store.js'
import type { CallbackBody } from '../../src/schema.js'
import { callbackBody } from '../helpers/callbacks.js'

const settings: PipelineSettings = {
  keyPrefix: 'test:', ttlMs: 60_000, leaseMs: 30_000, idempotencyKey: defaultIdempotencyKey, unknownValues: 'accept'
}
const silent = { info () {}, warn () {}, error () {}, debug () {}, fatal () {}, trace () {}, child () { return silent }, level: 'silent', silent () {} } as unknown as FastifyBaseLogger
const http = { source: 'http', request: {} as FastifyRequest } as const

/** A memory store whose writes can be made to fail, as a Redis that is down would. */
class FlakyStore implements IdempotencyStore {
  readonly inner = new MemoryStore()
  failComplete = 0
  failRelease = 0
  down = false
  async claim (key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    if (this.down) throw new Error('store down')
    return await this.inner.claim(key, token, leaseMs)
  }

  async complete (key: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.down || this.failComplete-- > 0) throw new Error('store down')
    return await this.inner.complete(key, token, ttlMs)
  }

  async release (key: string, token: string): Promise<boolean> {
    if (this.down || this.failRelease-- > 0) throw new Error('store down')
    return await this.inner.release(key, token)
  }
}

/** A pipeline that runs the handlers, or with `enqueue` one that hands callbacks to a queue. */
function build (store: IdempotencyStore, enqueue?: Enqueue, runOptions: Omit<ConstructorParameters<typeof RunHandlers>[0], 'dispatcher'> = {}) {
  const dispatcher = new Dispatcher()
  const observer = new Observer()
  const step = enqueue === undefined ? new RunHandlers({ dispatcher, ...runOptions }) : new QueueHandoff(enqueue)
  const pipeline = new DeliveryPipeline({ settings, store, observer, step })
  return { dispatcher, observer, pipeline }
}

const body = (overrides: Record<string, unknown> = {}): CallbackBody => callbackBody(overrides) as CallbackBody

test('processed, then duplicate; refused bodies are outcomes, never throws', async (t) => {
  const { dispatcher, pipeline, observer } = build(new MemoryStore())
  let runs = 0
  dispatcher.on('job.completed', () => { runs++ })
  const callback = body()
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'processed')
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'duplicate')
  const unknown = await new DeliveryPipeline({
    settings: { ...settings, unknownValues: 'reject' }, store: new MemoryStore(), observer, step: new RunHandlers({ dispatcher })
  }).deliver({ body: body({ state: 'ARCHIVED' }) }, http, silent)
  t.match(unknown, { status: 'rejected', error: { code: 'FST_SUPERAI_UNKNOWN_VALUE', statusCode: 400 } })
  t.equal(runs, 1)
  t.match(observer.stats(), { received: 3, processed: 1, duplicate: 1, rejected: 1 })
})

test('a completion the store could not record is retried; redeliveries meanwhile are in flight, never run again', async (t) => {
  const store = new FlakyStore()
  const { dispatcher, pipeline } = build(store)
  let runs = 0
  dispatcher.on('callback', () => { runs++ })
  const callback = body()
  store.failComplete = 3
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'processed', 'the handlers succeeded')
  t.equal(pipeline.pendingSettlements, 1)
  const meanwhile = await pipeline.deliver({ body: callback }, http, silent)
  t.match(meanwhile, { status: 'inFlight', retryAfter: 1 })
  const deadline = Date.now() + 5000
  while (pipeline.pendingSettlements > 0 && Date.now() < deadline) await sleep(20)
  t.equal(pipeline.pendingSettlements, 0, 'the completion landed after the retries')
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'duplicate')
  t.equal(runs, 1)
})

test('a release the store could not take is retried, so the next delivery runs the handlers', async (t) => {
  const store = new FlakyStore()
  const { dispatcher, pipeline, observer } = build(store)
  let calls = 0
  dispatcher.on('callback', () => { if (++calls === 1) throw new Error('boom') })
  const callback = body()
  store.failRelease = 2
  t.match(await pipeline.deliver({ body: callback }, http, silent), { status: 'failed', error: { code: 'FST_SUPERAI_HANDLER_FAILED' } })
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'inFlight', 'still claimed while the release is pending')
  const deadline = Date.now() + 5000
  while (pipeline.pendingSettlements > 0 && Date.now() < deadline) await sleep(20)
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'processed')
  t.equal(calls, 2)
  t.match(observer.stats(), { failed: 1, inFlight: 1, processed: 1 })
})

test('store down at claim: storeUnavailable, nothing runs', async (t) => {
  const store = new FlakyStore()
  const { dispatcher, pipeline, observer } = build(store)
  let runs = 0
  dispatcher.on('callback', () => { runs++ })
  store.down = true
  t.match(await pipeline.deliver({ body: body() }, http, silent), { status: 'storeUnavailable', error: { statusCode: 503 } })
  t.equal(runs, 0)
  t.equal(observer.stats().storeUnavailable, 1)
})

test('queue mode: handed off then stored; a failed hand-off releases the claim', async (t) => {
  const handed: string[] = []
  let failNext = true
  const { pipeline, dispatcher } = build(new MemoryStore(), async (delivery) => {
    if (failNext) { failNext = false; throw new Error('queue down') }
    handed.push(delivery.key)
  })
  let runs = 0
  dispatcher.on('callback', () => { runs++ })
  const callback = body()
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'storeUnavailable')
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'queued', 'the claim was released, so the next delivery stores it')
  t.equal((await pipeline.deliver({ body: callback }, http, silent)).status, 'duplicate')
  t.equal(handed.length, 1)
  t.equal(runs, 0, 'the receiver runs no handler in queue mode')
})

test('a queue worker\'s run claims a key of its own, runs once, and gets the queue context', async (t) => {
  const store = new MemoryStore()
  const { dispatcher, pipeline } = build(store, undefined, { claimKeyOf: runClaimKey, awaitCompletion: false })
  const contexts: unknown[] = []
  dispatcher.on('callback', (_event, context) => { contexts.push(context.source === 'queue' ? context.attempt : 'http') })
  const event = { id: '1', uuid: '00000000-0000-4000-8000-000000000000', state: 'COMPLETED', action: 'RESOLVED' } as const
  t.equal((await pipeline.deliver({ event, key: 'test:k' }, { source: 'queue', attempt: 2 }, silent)).status, 'processed')
  t.equal((await pipeline.deliver({ event, key: 'test:k' }, { source: 'queue', attempt: 3 }, silent)).status, 'duplicate')
  t.same(contexts, [2])
  t.same(await store.claim('test:k', 'receiver', 30_000), { status: 'processed' }, 'a state change\'s state is recorded in the callback\'s own key, where its job\'s processed states are read')
  t.same(await store.claim('test:k:run', 'worker', 30_000), { status: 'processed' }, 'and the run claim is processed')
  const edited = { ...event, action: 'EDITED' } as const
  t.equal((await pipeline.deliver({ event: edited, key: 'test:e' }, { source: 'queue', attempt: 1 }, silent)).status, 'processed')
  t.same(await store.claim('test:e', 'receiver', 30_000), { status: 'claimed' }, 'another action leaves the callback\'s own key to the receiver')
})

test('diagnostics: one delivery message per delivery and a trace around each handler run', async (t) => {
  const { dispatcher, pipeline } = build(new MemoryStore())
  dispatcher.on('callback', async () => { await sleep(5) })
  const messages: DeliveryMessage[] = []
  const onMessage = (message: unknown): void => { messages.push(message as DeliveryMessage) }
  diagnosticsChannel.subscribe(DELIVERY_CHANNEL, onMessage)
  const traced: string[] = []
  const handlers = {
    start: () => { traced.push('start') },
    end: () => { traced.push('end') },
    asyncStart: () => { traced.push('asyncStart') },
    asyncEnd: () => { traced.push('asyncEnd') },
    error: () => { traced.push('error') }
  }
  const tracing = diagnosticsChannel.tracingChannel(HANDLE_CHANNEL)
  tracing.subscribe(handlers)
  t.teardown(() => { diagnosticsChannel.unsubscribe(DELIVERY_CHANNEL, onMessage); tracing.unsubscribe(handlers) })
  const callback = body()
  await pipeline.deliver({ body: callback }, http, silent)
  await pipeline.deliver({ body: callback }, http, silent)
  t.match(messages, [
    { outcome: 'processed', uuid: callback.uuid, state: 'COMPLETED', action: 'RESOLVED', source: 'http', key: /^test:/ },
    { outcome: 'duplicate', source: 'http' }
  ])
  t.ok(messages.every((m) => typeof m.durationMs === 'number' && m.durationMs >= 0))
  t.same(traced, ['start', 'end', 'asyncStart', 'asyncEnd'], 'one traced handler run, none for the duplicate')
})

test('drain waits for running deliveries', async (t) => {
  const { dispatcher, pipeline } = build(new MemoryStore())
  let finished = false
  dispatcher.on('callback', async () => { await sleep(100); finished = true })
  const running = pipeline.deliver({ body: body() }, http, silent)
  await sleep(10)
  await pipeline.drain()
  t.ok(finished)
  t.equal((await running).status, 'processed')
})

test('queue mode: a redelivery racing the claim-then-enqueue waits for it and is a duplicate, in this process or another', async (t) => {
  const store = new MemoryStore()
  const slowHandoff: Enqueue = async () => { await sleep(50) }
  const first = build(store, slowHandoff)
  const other = build(store, slowHandoff)
  const callback = body()
  const outcomes = await Promise.all([
    first.pipeline.deliver({ body: callback }, http, silent),
    first.pipeline.deliver({ body: callback }, http, silent),
    other.pipeline.deliver({ body: callback }, http, silent)
  ])
  t.same(outcomes.map((o) => o.status).sort(), ['duplicate', 'duplicate', 'queued'])
})
