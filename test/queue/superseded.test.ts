import { randomUUID } from 'node:crypto'
import { test } from 'tap'
import { createSuperaiWorker, type HandlerContext } from '../../src/index.js'
import { buildApp, warnLines } from '../helpers/app.js'
import { REDIS_URL, callbackBody } from '../helpers/callbacks.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

test('queue mode: superseded is decided when the worker runs the job, not when it was received', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  // a receiver that only enqueues, and a synchronous app on the same prefix
  const receiver = await buildApp(t, { queue: { ...queue, concurrency: 0 } })
  const direct = await buildApp(t, { keyPrefix: receiver.prefix })
  direct.app.superai.on('callback', () => {})
  await receiver.app.ready()
  const uuid = randomUUID()
  t.equal((await receiver.post(callbackBody({ uuid, state: 'COMPLETED' }))).statusCode, 202, 'COMPLETED stored while nothing later was processed')
  t.same((await direct.post(callbackBody({ uuid, state: 'POST PROCESSED' }))).json(), { ok: true, duplicate: false }, 'then POST PROCESSED is processed')

  const worker = await createSuperaiWorker({ redis: REDIS_URL, keyPrefix: receiver.prefix, queue })
  t.teardown(async () => { await worker.close() })
  let seen: HandlerContext | undefined
  worker.onJobCompleted((_event, context) => { seen = context })
  worker.start()
  t.ok(await waitFor(() => seen !== undefined), 'the worker ran COMPLETED')
  t.same([seen?.source, seen?.superseded, seen?.latestState], ['queue', true, 'POST PROCESSED'])
  t.ok(await waitFor(() => worker.stats().superseded === 1 && worker.stats().processed === 1), 'counted as processed and superseded')

  // what the worker completes is remembered for the synchronous app too
  let told: HandlerContext | undefined
  direct.app.superai.onJobSuspended((_event, context) => { told = context })
  await direct.post(callbackBody({ uuid, state: 'SUSPENDED' }))
  t.same([told?.superseded, told?.latestState], [true, 'POST PROCESSED'])
})

test('createSuperaiWorker with superseded: "skip": the job completes without running the handlers', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  // options that act only where jobs run, given where callbacks are received too: the receiver says so
  const receiver = await buildApp(t, { queue: { ...queue, concurrency: 0 }, superseded: 'skip', verify: { apiKey: 'unused' } })
  await receiver.app.ready()
  t.match(warnLines(receiver.logs), [
    { msg: /"superseded: skip" has no effect .* set it on createSuperaiWorker/ },
    { msg: /"verify" has no effect .* set it on createSuperaiWorker/ }
  ])
  const worker = await createSuperaiWorker({ redis: REDIS_URL, keyPrefix: receiver.prefix, queue, superseded: 'skip' })
  t.teardown(async () => { await worker.close() })
  const ran: string[] = []
  worker.on('callback', (event, context) => { ran.push(`${event.state} ${String(context.superseded)}`) })
  const uuid = randomUUID()
  worker.start()
  t.equal((await receiver.post(callbackBody({ uuid, state: 'REVIEWED' }))).statusCode, 202)
  t.ok(await waitFor(() => ran.length === 1))
  t.equal((await receiver.post(callbackBody({ uuid, state: 'COMPLETED' }))).statusCode, 202, 'the receiver stores it: it does not decide')
  t.ok(await waitFor(() => worker.stats().superseded === 1), 'the worker skipped it')
  t.equal((await receiver.post(callbackBody({ uuid, state: 'POST PROCESSED' }))).statusCode, 202)
  t.ok(await waitFor(() => ran.length === 2))
  t.same(ran, ['REVIEWED false', 'POST PROCESSED false'], 'COMPLETED never reached a handler; POST PROCESSED is on another branch')
  // a run is counted, and its job completed, a moment after its handler returned
  t.ok(await waitFor(() => worker.stats().processed === 2))
  t.match(worker.stats(), { processed: 2, superseded: 1, failed: 0, deadLettered: 0 })
  t.ok(await waitFor(async () => await worker.queue.getCompletedCount() === 3), 'the skipped job completed, not failed')
  t.equal(await worker.queue.getFailedCount(), 0)
  await t.rejects(createSuperaiWorker({ redis: REDIS_URL, queue, superseded: 'never' as never }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /"superseded"/ })
})

test('queue mode in one app: a late state change the in-process worker runs is flagged', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue })
  const seen = new Map<string, HandlerContext>()
  app.superai.on('callback', (event, context) => { seen.set(event.state, context) })
  await app.ready()
  const uuid = randomUUID()
  t.equal((await post(callbackBody({ uuid, state: 'REVIEWED' }))).statusCode, 202)
  t.ok(await waitFor(() => seen.has('REVIEWED')))
  t.ok(await waitFor(() => app.superai.stats().processed === 1), 'its completion recorded')
  t.equal((await post(callbackBody({ uuid, state: 'NEEDS REVIEW' }))).statusCode, 202)
  t.ok(await waitFor(() => seen.has('NEEDS REVIEW')))
  t.same([seen.get('REVIEWED')?.superseded, seen.get('NEEDS REVIEW')?.superseded, seen.get('NEEDS REVIEW')?.latestState], [false, true, 'REVIEWED'])
})
