import { test } from 'tap'
import { createSuperaiWorker, type SuperaiWorker } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { REDIS_URL, callbackBody } from '../helpers/callbacks.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

test('100 callbacks delivered 3 times at once: 202 or 200 duplicate (never 409), each handled once', async (t) => {
  const queue = uniqueQueue({ concurrency: 20 })
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue })
  const runs = new Map<string, number>()
  app.superai.on('callback', async (event) => { runs.set(event.uuid, (runs.get(event.uuid) ?? 0) + 1) })
  await app.ready()
  const bodies = Array.from({ length: 100 }, () => callbackBody())
  const replies = await Promise.all(bodies.flatMap((body) => [post(body), post(body), post(body)]))
  const statuses = new Map<number, number>()
  for (const reply of replies) statuses.set(reply.statusCode, (statuses.get(reply.statusCode) ?? 0) + 1)
  t.equal(statuses.get(202), 100, 'one 202 per callback')
  t.equal((statuses.get(202) ?? 0) + (statuses.get(200) ?? 0), 300, `only 202 and 200: ${JSON.stringify([...statuses])}`)
  t.ok(await waitFor(() => runs.size === 100, 20_000), 'every callback handled')
  t.ok([...runs.values()].every((n) => n === 1), 'each once')
})

test('a receiver that only enqueues (concurrency 0) and two workers elsewhere: each callback handled once', async (t) => {
  const queue = uniqueQueue({ concurrency: 0 })
  removeQueueAtTeardown(t, queue)
  const { app, post, prefix } = await buildApp(t, { queue })
  let receiverRuns = 0
  app.superai.on('callback', () => { receiverRuns++ })
  await app.ready()

  const runs = new Map<string, string[]>()
  const workers: SuperaiWorker[] = []
  for (const name of ['a', 'b']) {
    const worker = await createSuperaiWorker({ redis: REDIS_URL, keyPrefix: prefix, queue: { ...queue, concurrency: 5 } })
    t.teardown(async () => { await worker.close() })
    worker.onJobCompleted(async (event, context) => {
      t.equal(context.source, 'queue')
      await new Promise((resolve) => setTimeout(resolve, 5))
      runs.set(event.uuid, [...runs.get(event.uuid) ?? [], name])
    })
    workers.push(worker)
  }
  const bodies = Array.from({ length: 60 }, () => callbackBody())
  const replies = await Promise.all(bodies.map(async (body) => await post(body)))
  t.ok(replies.every((reply) => reply.statusCode === 202))
  for (const worker of workers) worker.start()
  t.ok(await waitFor(() => runs.size === 60, 20_000), 'every callback handled')
  t.ok([...runs.values()].every((by) => by.length === 1), 'each by one worker, once')
  // a run is counted once its completion is recorded, a moment after the handler returned
  const processed = (): number[] => workers.map((worker) => worker.stats().processed)
  t.ok(await waitFor(() => processed().reduce((a, b) => a + b, 0) === 60, 5000), 'every run counted as processed')
  const byWorker = processed()
  t.equal(byWorker.reduce((a, b) => a + b, 0), 60)
  t.ok(byWorker.every((n) => n > 0), `both workers took jobs: ${byWorker.join(', ')}`)
  t.equal(receiverRuns, 0, 'the receiving app ran no handler')
  t.equal(app.superai.stats().queued, 60)
})

test('createSuperaiWorker takes no job before start(), and validates its options as the plugin does', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const { app, post, prefix } = await buildApp(t, { queue: { ...queue, concurrency: 0 } })
  await app.ready()
  const worker = await createSuperaiWorker({ redis: REDIS_URL, keyPrefix: prefix, queue })
  t.teardown(async () => { await worker.close() })
  let runs = 0
  t.equal((await post(callbackBody())).statusCode, 202)
  await new Promise((resolve) => setTimeout(resolve, 300))
  worker.on('callback', () => { runs++ })
  t.equal(runs, 0)
  worker.start()
  t.ok(await waitFor(() => runs === 1))

  await t.rejects(createSuperaiWorker({ redis: REDIS_URL, queue: { ...queue, concurrency: 0 } }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /queue\.concurrency/ })
  await t.rejects(createSuperaiWorker({ redis: REDIS_URL, lease: 0 }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /"lease"/ })
  await t.rejects(createSuperaiWorker({ redis: REDIS_URL, path: '/x/' } as never), { code: 'FST_SUPERAI_INVALID_OPTION', message: /"path"/ })
  await t.rejects(createSuperaiWorker({ redis: 'redis://127.0.0.1:1' }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /redis/ })
})
