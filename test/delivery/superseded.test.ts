import diagnosticsChannel from 'node:diagnostics_channel'
import { randomUUID } from 'node:crypto'
import { test, type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { DELIVERY_CHANNEL, MemoryStore, type DeliveryMessage, type HandlerContext, type IdempotencyStore, type SuperaiCallbacksOptions } from '../../src/index.js'
import { buildApp, type TestApp } from '../helpers/app.js'
import { callbackBody } from '../helpers/callbacks.js'

/** What the `callback` handlers of an app saw, by job and state. */
type Seen = Map<string, { superseded: boolean, latestState: string | undefined, source: string }>

function watch (app: FastifyInstance): Seen {
  const seen: Seen = new Map()
  app.superai.on('callback', (event, context: HandlerContext) => {
    seen.set(`${event.uuid} ${event.state} ${event.action}`, { superseded: context.superseded, latestState: context.latestState, source: context.source })
  })
  return seen
}

const post = async (app: TestApp, uuid: string, state: string, action = 'RESOLVED'): Promise<LightMyRequestResponse> =>
  await app.post(callbackBody({ uuid, state, action }))

for (const memory of [false, true]) {
  const store = memory ? 'memory store' : 'Redis'
  const build = async (t: Test, options: SuperaiCallbacksOptions = {}): Promise<TestApp> => await buildApp(t, options, { memory })

  test(`${store}: in order, no state change is superseded`, async (t) => {
    const app = await build(t)
    const seen = watch(app.app)
    for (const states of [['COMPLETED', 'POST PROCESSING', 'POST PROCESSED'], ['COMPLETED', 'POST PROCESSING', 'NEEDS REVIEW', 'REVIEWED'], ['SUSPENDED', 'COMPLETED'], ['FAILED']]) {
      const uuid = randomUUID()
      for (const state of states) t.same((await post(app, uuid, state)).json(), { ok: true, duplicate: false }, `${states.join(' > ')}: ${state}`)
      for (const state of states) t.same(seen.get(`${uuid} ${state} RESOLVED`), { superseded: false, latestState: undefined, source: 'http' })
    }
    t.equal(app.app.superai.stats().superseded, 0)
  })

  test(`${store}: out of order, a state behind one already processed is flagged with it`, async (t) => {
    const app = await build(t)
    const seen = watch(app.app)
    const cases: Array<[string[], string, string | undefined]> = [
      // [processed first, then this one, the latest state it is told]
      [['POST PROCESSED'], 'COMPLETED', 'POST PROCESSED'],
      [['POST PROCESSING', 'POST PROCESSED'], 'COMPLETED', 'POST PROCESSED'],
      [['REVIEWED'], 'COMPLETED', 'REVIEWED'],
      [['REVIEWED'], 'NEEDS REVIEW', 'REVIEWED'],
      [['NEEDS REVIEW'], 'POST PROCESSING', 'NEEDS REVIEW'],
      [['COMPLETED'], 'SUSPENDED', 'COMPLETED'],
      [['CANCELED'], 'SUSPENDED', 'CANCELED'],
      // two branches: neither is behind the other
      [['POST PROCESSED'], 'NEEDS REVIEW', undefined],
      [['REVIEWED'], 'POST PROCESSED', undefined],
      [['FAILED'], 'COMPLETED', undefined],
      [['COMPLETED'], 'FAILED', undefined],
      // ahead of what was processed: in order
      [['COMPLETED'], 'POST PROCESSED', undefined],
      // both branches processed: a state behind both is told one of them (the first in JOB_STATES)
      [['POST PROCESSED', 'REVIEWED'], 'COMPLETED', 'REVIEWED']
    ]
    for (const [before, state, latestState] of cases) {
      const uuid = randomUUID()
      for (const earlier of before) await post(app, uuid, earlier)
      t.same((await post(app, uuid, state)).json(), { ok: true, duplicate: false }, 'dispatched (the default)')
      t.same(seen.get(`${uuid} ${state} RESOLVED`), { superseded: latestState !== undefined, latestState, source: 'http' },
        `${state} after ${before.join(', ')}: ${latestState === undefined ? 'not superseded' : `superseded by ${latestState}`}`)
    }
    t.equal(app.app.superai.stats().superseded, 8, 'stats() counts the superseded deliveries whose handlers ran')
    t.equal(app.app.superai.stats().processed, cases.reduce((sum, [before]) => sum + before.length + 1, 0), 'and they count as processed too')
  })

  test(`${store}: other actions and v2 callbacks are never superseded`, async (t) => {
    const app = await build(t)
    const seen = watch(app.app)
    const uuid = randomUUID()
    await post(app, uuid, 'POST PROCESSED')
    for (const action of ['EDITED', 'TAG ADDED', 'ACCEPTED']) {
      await post(app, uuid, 'COMPLETED', action)
      t.same(seen.get(`${uuid} COMPLETED ${action}`), { superseded: false, latestState: undefined, source: 'http' }, action)
    }
    let entity: HandlerContext | undefined
    app.app.superai.on('entity', (_event, context) => { entity = context })
    const batch = await app.post({ version: '2', entityType: 'batch', entityId: uuid, state: 'COMPLETED' })
    t.same(batch.json(), { ok: true, duplicate: false })
    t.equal(entity?.superseded, false, 'a batch callback')
  })

  test(`${store}: a state whose handlers failed is not remembered`, async (t) => {
    const app = await build(t)
    const seen = watch(app.app)
    let fail = true
    app.app.superai.onJobPostProcessed(() => { if (fail) throw new Error('database down') })
    const uuid = randomUUID()
    t.equal((await post(app, uuid, 'POST PROCESSED')).statusCode, 500)
    await post(app, uuid, 'COMPLETED')
    t.same(seen.get(`${uuid} COMPLETED RESOLVED`), { superseded: false, latestState: undefined, source: 'http' }, 'the failed state is not behind it')
    fail = false
    t.same((await post(app, uuid, 'POST PROCESSED')).json(), { ok: true, duplicate: false }, 'the redelivery runs and succeeds')
    t.same((await post(app, uuid, 'POST PROCESSING')).json(), { ok: true, duplicate: false })
    t.same(seen.get(`${uuid} POST PROCESSING RESOLVED`), { superseded: true, latestState: 'POST PROCESSED', source: 'http' }, 'now it is remembered')
  })

  test(`${store}: superseded: 'skip' answers 200 without running the handlers, and marks the callback processed`, async (t) => {
    const app = await build(t, { superseded: 'skip' })
    const seen = watch(app.app)
    const messages: DeliveryMessage[] = []
    const listen = (message: unknown): void => { messages.push(message as DeliveryMessage) }
    diagnosticsChannel.subscribe(DELIVERY_CHANNEL, listen)
    t.teardown(() => { diagnosticsChannel.unsubscribe(DELIVERY_CHANNEL, listen) })
    const uuid = randomUUID()
    t.same((await post(app, uuid, 'POST PROCESSED')).json(), { ok: true, duplicate: false })
    const late = await post(app, uuid, 'COMPLETED')
    t.equal(late.statusCode, 200)
    t.same(late.json(), { ok: true, duplicate: false, superseded: true })
    t.notOk(seen.has(`${uuid} COMPLETED RESOLVED`), 'no handler ran')
    t.same((await post(app, uuid, 'COMPLETED')).json(), { ok: true, duplicate: true }, 'a redelivery is a duplicate')
    t.same((await post(app, uuid, 'NEEDS REVIEW')).json(), { ok: true, duplicate: false }, 'another branch still runs')
    t.ok(seen.has(`${uuid} NEEDS REVIEW RESOLVED`))
    const stats = app.app.superai.stats()
    t.match(stats, { received: 4, processed: 2, superseded: 1, duplicate: 1 })
    const mine = messages.filter((m) => m.uuid === uuid)
    t.match(mine.map((m) => [m.outcome, m.state, m.superseded, m.latestState]), [
      ['processed', 'POST PROCESSED', false, undefined],
      ['superseded', 'COMPLETED', true, 'POST PROCESSED'],
      ['duplicate', 'COMPLETED', false, undefined],
      ['processed', 'NEEDS REVIEW', false, undefined]
    ], 'the delivery channel says which were superseded, and by what')
    t.ok(app.logs.some((line) => line.msg === 'super.AI callback superseded by a later state of its job; handlers skipped' && line.latestState === 'POST PROCESSED'),
      'one info line')
  })
}

test('two instances on one Redis prefix: one processed the later state, the other is told', async (t) => {
  const a = await buildApp(t)
  const b = await buildApp(t, { keyPrefix: a.prefix })
  const seenA = watch(a.app)
  const seenB = watch(b.app)
  const uuid = randomUUID()
  t.same((await post(a, uuid, 'REVIEWED')).json(), { ok: true, duplicate: false })
  t.same((await post(b, uuid, 'NEEDS REVIEW')).json(), { ok: true, duplicate: false })
  t.same(seenB.get(`${uuid} NEEDS REVIEW RESOLVED`), { superseded: true, latestState: 'REVIEWED', source: 'http' })
  t.same((await post(a, uuid, 'COMPLETED')).json(), { ok: true, duplicate: false })
  t.same(seenA.get(`${uuid} COMPLETED RESOLVED`), { superseded: true, latestState: 'REVIEWED', source: 'http' })
  // the other instance, with skip: the same memory, the same answer
  const c = await buildApp(t, { keyPrefix: a.prefix, superseded: 'skip' })
  t.same((await post(c, uuid, 'POST PROCESSING')).json(), { ok: true, duplicate: false, superseded: true })
})

test('concurrent completions of two states of one job: the later state is remembered, whichever lands last', async (t) => {
  const a = await buildApp(t)
  const b = await buildApp(t, { keyPrefix: a.prefix })
  for (let round = 0; round < 10; round++) {
    const uuid = randomUUID()
    // both handlers run at once (each waits for the other to start), so neither sees the other's state
    let arrived = 0
    let release: () => void = () => {}
    const bothIn = new Promise<void>((resolve) => { release = resolve })
    const meet = async (): Promise<void> => {
      if (++arrived === 2) release()
      await bothIn
    }
    const contexts: HandlerContext[] = []
    const offA = a.app.superai.onJobCompleted(async (_e, context) => { contexts.push(context); await meet() })
    const offB = b.app.superai.onJobPostProcessed(async (_e, context) => { contexts.push(context); await meet() })
    // the completions land in either order, round after round
    const [first, second] = await Promise.all([post(a, uuid, 'COMPLETED'), post(b, uuid, 'POST PROCESSED')])
    offA()
    offB()
    t.same([first.statusCode, second.statusCode], [200, 200])
    t.ok(contexts.every((context) => !context.superseded), 'neither saw the other')
    let told: HandlerContext | undefined
    const offC = a.app.superai.onJobPostProcessing((_e, context) => { told = context })
    await post(a, uuid, 'POST PROCESSING')
    offC()
    t.same([told?.superseded, told?.latestState], [true, 'POST PROCESSED'], `round ${round}: the furthest state is remembered`)
  }
})

test('a store without claimAndRead and completeAndMark: never superseded, and "skip" is refused at register', async (t) => {
  const inner = new MemoryStore()
  const plain: IdempotencyStore = {
    claim: inner.claim.bind(inner), complete: inner.complete.bind(inner), release: inner.release.bind(inner)
  }
  const app = await buildApp(t, { store: plain })
  const seen = watch(app.app)
  const uuid = randomUUID()
  await post(app, uuid, 'POST PROCESSED')
  await post(app, uuid, 'COMPLETED')
  t.same(seen.get(`${uuid} COMPLETED RESOLVED`), { superseded: false, latestState: undefined, source: 'http' })
  await t.rejects(buildApp(t, { store: plain, superseded: 'skip' }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /superseded.*claimAndRead and completeAndMark/ })
  await t.rejects(buildApp(t, { superseded: 'always' as never }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /"superseded".*"dispatch" or "skip"/ })
})
