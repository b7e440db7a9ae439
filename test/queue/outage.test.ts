import { test } from 'tap'
import Fastify from 'fastify'
import superaiCallbacks from '../../src/index.js'
import { callbackBody } from '../helpers/callbacks.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

test('Redis down: 503 and nothing runs; once it is back the same callback is stored and handled', async (t) => {
  const server = await startRedisServer(t.teardown.bind(t))
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue, server.url)
  const app = Fastify()
  await app.register(superaiCallbacks, { redis: server.url, keyPrefix: 'test:queue-outage:', queue })
  t.teardown(async () => { await app.close() })
  let runs = 0
  app.superai.on('callback', () => { runs++ })
  await app.ready()
  const post = async (body: unknown): Promise<number> =>
    (await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: body as Record<string, unknown> })).statusCode

  await server.kill()
  const body = callbackBody()
  t.equal(await post(body), 503)
  t.equal(await post(body), 503)
  t.equal(runs, 0)
  t.equal(app.superai.stats().queued, 0)

  await server.restart()
  t.ok(await waitFor(async () => await post(body) === 202, 10_000), 'stored once Redis is back')
  t.ok(await waitFor(() => runs === 1, 15_000), 'the worker reconnected and handled it')
  t.equal(await post(body), 200)
  t.equal(runs, 1)
})
