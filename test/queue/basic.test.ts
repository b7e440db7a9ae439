import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import type { HandlerContext } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { callbackBody } from '../helpers/callbacks.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

test('queue mode: 202 queued, the handler runs in the worker with source "queue" and attempt 1', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const { app, post, prefix } = await buildApp(t, { queue })
  const seen: Array<{ uuid: string, context: HandlerContext }> = []
  app.superai.onJobCompleted(async (event, context) => { seen.push({ uuid: event.uuid, context }) })
  await app.ready()

  const body = callbackBody()
  const reply = await post(body)
  t.equal(reply.statusCode, 202)
  t.same(reply.json(), { ok: true, duplicate: false, queued: true })
  t.ok(await waitFor(() => seen.length === 1), 'the worker ran the handler')
  const context = seen[0]?.context
  t.equal(seen[0]?.uuid, body.uuid)
  t.equal(context?.source, 'queue')
  if (context?.source === 'queue') t.equal(context.attempt, 1)
  t.match(context?.key, new RegExp(`^${prefix}`))
  t.notOk(context !== undefined && 'request' in context, 'no request in a worker')
  t.ok(await waitFor(() => app.superai.stats().processed === 1), 'counted once settled')
  t.match(app.superai.stats(), { received: 1, queued: 1, processed: 1 })
  t.ok(app.superai.queue, 'the BullMQ queue is exposed')
})

test('queue mode: a redelivery while the callback waits or runs is 200 duplicate, never 409', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue })
  let runs = 0
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  app.superai.on('callback', async () => { runs++; await gate })
  const body = callbackBody()
  await app.ready()
  t.equal((await post(body)).statusCode, 202)
  t.ok(await waitFor(() => runs === 1), 'running')
  const running = await Promise.all([post(body), post(body), post(body)])
  t.same(running.map((r) => r.statusCode), [200, 200, 200])
  t.same(running.map((r) => r.json<{ duplicate: boolean }>().duplicate), [true, true, true])
  release()
  await sleep(100)
  t.equal(runs, 1)
  t.equal(app.superai.stats().inFlight, 0)
})
