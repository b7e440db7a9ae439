/**
 * `app.superai.waitFor` through the real plugin: a state change resolves it once processed (handlers
 * succeeded, or skipped as superseded), in this process with the in-memory store, on another instance
 * sharing the Redis, in queue mode from a worker, for reconciled events; one processed before the call
 * resolves at once; `app.close()` rejects the pending waits.
 */
import { randomUUID } from 'node:crypto'
import { test } from 'tap'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { createSuperaiWorker } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { REDIS_URL, uniquePrefix } from '../helpers/callbacks.js'
import { startFakeSuperai } from '../helpers/fake-superai.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor as eventually } from '../helpers/queue.js'

const APP_ID = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'
const callbackOf = (uuid: string, state = 'COMPLETED', action = 'RESOLVED'): Record<string, unknown> =>
  ({ id: '7', uuid, state, action, postProcessingEnabled: 'false' })

/** Resolves true once some connection is subscribed to job `uuid`'s channel: what resolves its wait next is the publication. */
async function subscribed (keyPrefix: string, uuid: string): Promise<boolean> {
  const redis = new Redis(REDIS_URL)
  try {
    return await eventually(async () => {
      const [, count] = await redis.pubsub('NUMSUB', `${keyPrefix}processed:${uuid}`) as [string, number]
      return count > 0
    })
  } finally {
    await redis.quit()
  }
}

/** Whether `promise` is still pending after the I/O of a few turns. */
async function isPending (promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending')
  return await Promise.race([promise.then(() => 'settled', () => 'settled'), new Promise((resolve) => setTimeout(() => { resolve(marker) }, 50))]) === marker
}

test('in-memory store: resolves once the handlers succeeded, not when they failed; the states asked for only; processed before resolves at once', async (t) => {
  const { app, post } = await buildApp(t, {}, { memory: true })
  let failing = true
  app.superai.onJobCompleted(async () => { if (failing) throw new Error('down') })
  const uuid = randomUUID()
  const completed = app.superai.waitFor(uuid)
  const postProcessed = app.superai.waitFor(uuid, { states: ['POST PROCESSED'], timeout: 2000 })
  t.equal((await post(callbackOf(uuid))).statusCode, 500)
  t.ok(await isPending(completed), 'a failed delivery resolves nothing')
  t.equal((await post(callbackOf(uuid, 'COMPLETED', 'EDITED'))).statusCode, 200, 'another action of the job')
  t.ok(await isPending(completed), 'only a state change (RESOLVED) counts')
  failing = false
  t.equal((await post(callbackOf(uuid))).statusCode, 200)
  t.same(await completed, { uuid, state: 'COMPLETED' })
  t.ok(await isPending(postProcessed), 'a wait for other states waits on')
  await t.rejects(postProcessed, { code: 'FST_SUPERAI_WAIT_TIMEOUT' })
  t.same(await app.superai.waitFor(uuid.toUpperCase(), { timeout: 1 }), { uuid, state: 'COMPLETED' }, 'processed before the call: at once (read from the store)')
})

test('two apps on one Redis: a state processed on one resolves the wait on the other, before or after the call', async (t) => {
  const keyPrefix = uniquePrefix('wait-two')
  const a = await buildApp(t, { keyPrefix })
  const b = await buildApp(t, { keyPrefix })
  a.app.superai.onJobFailed(async () => {})
  const uuid = randomUUID()
  const onB = b.app.superai.waitFor(uuid, { timeout: 5000 })
  t.ok(await subscribed(keyPrefix, uuid), 'B subscribed to the job')
  t.ok(await isPending(onB), 'and found nothing processed yet')
  t.equal((await a.post(callbackOf(uuid, 'FAILED'))).statusCode, 200)
  t.same(await onB, { uuid, state: 'FAILED' }, 'through the completion\'s publication')
  t.same(await b.app.superai.waitFor(uuid, { states: ['FAILED'], timeout: 1000 }), { uuid, state: 'FAILED' }, 'and read from the store afterwards')
})

test('skipped as superseded counts as processed, on another instance too', async (t) => {
  const keyPrefix = uniquePrefix('wait-skip')
  const a = await buildApp(t, { keyPrefix, superseded: 'skip' })
  const b = await buildApp(t, { keyPrefix })
  const ran: string[] = []
  a.app.superai.on('callback', async (event) => { ran.push(event.state) })
  const uuid = randomUUID()
  t.equal((await a.post(callbackOf(uuid, 'POST PROCESSED'))).statusCode, 200)
  const late = b.app.superai.waitFor(uuid, { states: ['COMPLETED'], timeout: 5000 })
  t.ok(await subscribed(keyPrefix, uuid))
  t.ok(await isPending(late))
  t.equal((await a.post(callbackOf(uuid, 'COMPLETED'))).statusCode, 200)
  t.same(await late, { uuid, state: 'COMPLETED' })
  t.same(ran, ['POST PROCESSED'], 'the late COMPLETED ran no handler')
})

test('a custom idempotencyKey: waits still resolve across instances and from the store', async (t) => {
  const keyPrefix = uniquePrefix('wait-custom')
  const idempotencyKey = (event: { uuid: string, state: string, action: string }): string => `custom:${event.uuid}:${event.state}:${event.action}`
  const a = await buildApp(t, { keyPrefix, idempotencyKey })
  const b = await buildApp(t, { keyPrefix, idempotencyKey })
  const uuid = randomUUID()
  const onB = b.app.superai.waitFor(uuid, { states: ['COMPLETED'], timeout: 5000 })
  t.ok(await subscribed(keyPrefix, uuid))
  t.ok(await isPending(onB))
  t.equal((await a.post(callbackOf(uuid))).statusCode, 200)
  t.same(await onB, { uuid, state: 'COMPLETED' })
  t.same(await b.app.superai.waitFor(uuid, { states: ['COMPLETED'], timeout: 1000 }), { uuid, state: 'COMPLETED' }, 'read from the job\'s marks')
})

test('a reconciled state change resolves waits', async (t) => {
  const api = await startFakeSuperai(t)
  const { app } = await buildApp(t, { reconcile: { apiKey: api.apiKey, baseUrl: api.baseUrl, appIds: [APP_ID], interval: 3600, lookback: 600 } }, { memory: true })
  app.superai.onJobCompleted(async () => {})
  await app.ready()
  t.ok(await eventually(() => app.superai.stats().reconcilePasses === 1), 'the pass at start, which found nothing')
  const job = api.addJob({ appId: APP_ID })
  const wait = app.superai.waitFor(job.uuid, { timeout: 5000 })
  t.match(await app.superai.reconcile(), { dispatched: 1 })
  t.same(await wait, { uuid: job.uuid, state: 'COMPLETED' })
})

test('queue mode: the receiving app and the worker both learn that the worker processed the state change', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const { app, post, prefix } = await buildApp(t, { queue: { ...queue, concurrency: 0 } })
  await app.ready()
  const worker = await createSuperaiWorker({ redis: REDIS_URL, keyPrefix: prefix, queue })
  t.teardown(async () => { await worker.close() })
  worker.onJobCompleted(async () => {})
  const uuid = randomUUID()
  const onApp = app.superai.waitFor(uuid, { timeout: 5000 })
  const onWorker = worker.waitFor(uuid, { timeout: 5000 })
  t.ok(await subscribed(prefix, uuid))
  t.ok(await isPending(onApp))
  t.equal((await post(callbackOf(uuid))).statusCode, 202)
  t.ok(await isPending(onApp), 'queued is not processed')
  worker.start()
  t.same(await Promise.all([onApp, onWorker]), [{ uuid, state: 'COMPLETED' }, { uuid, state: 'COMPLETED' }])
})

test('app.close() rejects pending waits with FST_SUPERAI_WAIT_CLOSED, so a request awaiting one does not hold close()', async (t) => {
  const app = Fastify()
  const prefix = uniquePrefix('wait-close')
  const { default: superaiCallbacks } = await import('../../src/index.js')
  await app.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix: prefix })
  let requests = 0
  app.get('/wait', async () => {
    requests++
    return await app.superai.waitFor(randomUUID(), { timeout: 60_000 })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const answer = fetch(`http://127.0.0.1:${port}/wait`).then(async (response) => ({ status: response.status, body: await response.json() as unknown }))
  // the request is under way, its wait pending
  t.ok(await eventually(() => requests > 0))
  await new Promise((resolve) => setTimeout(resolve, 50))
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 5000, 'close() did not wait for the timeout')
  t.match(await answer, { status: 503, body: { code: 'FST_SUPERAI_WAIT_CLOSED' } })
  await t.rejects(app.superai.waitFor(randomUUID()), { code: 'FST_SUPERAI_WAIT_CLOSED' }, 'a wait after close rejects at once')
})

test('bad input is a coded error at once, with no wait begun', async (t) => {
  const { app } = await buildApp(t, {}, { memory: true })
  await t.rejects(app.superai.waitFor('not-a-uuid'), { code: 'FST_SUPERAI_INVALID_OPTION', message: /uuid/ })
  // @ts-expect-error an undocumented state
  await t.rejects(app.superai.waitFor(randomUUID(), { states: ['DONE'] }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /states/ })
  await t.rejects(app.superai.waitFor(randomUUID(), { timeout: 0 }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /timeout/ })
})
