import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import superaiCallbacks from '../../src/index.js'
import { REDIS_URL, callbackBody, cleanUpAtTeardown } from '../helpers/callbacks.js'
import { listenLocal, postCallback } from '../helpers/http.js'
import { injectPoster } from '../helpers/sender.js'

/** A deploy: app.close() while a handler runs. The delivery is answered and recorded; nothing runs twice. */

test('app.close() while a handler runs: answered 200, and a redelivery to another instance is a duplicate', async (t) => {
  const keyPrefix = `test:close:${process.pid}:${randomUUID()}:`
  cleanUpAtTeardown(t, keyPrefix)
  const runs = new Map<string, number>()
  const count = (uuid: string): void => { runs.set(uuid, (runs.get(uuid) ?? 0) + 1) }

  const closing = Fastify()
  t.teardown(async () => { await closing.close() })
  // a short ttl: whatever a failed run leaves behind goes by itself within the hour
  await closing.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix, ttl: 3600 })
  let entered: () => void = () => {}
  const inHandler = new Promise<void>((resolve) => { entered = resolve })
  let finish: () => void = () => {}
  const gate = new Promise<void>((resolve) => { finish = resolve })
  closing.superai.on('callback', async (event) => {
    entered()
    await gate
    count(event.uuid)
  })
  const url = await listenLocal(closing)

  const other = Fastify()
  t.teardown(async () => { await other.close() })
  await other.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix, ttl: 3600 })
  other.superai.on('callback', (event) => { count(event.uuid) })

  const body = callbackBody()
  const answered = postCallback(url, body, { timeoutMs: 10_000 })
  await inHandler
  let closed = false
  const closed$ = closing.close().then(() => { closed = true })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(closed, false, 'close waits for the running handler')
  const duringClose = await injectPoster(other)(body)
  t.equal(duringClose.status, 409, 'meanwhile another instance sees the callback in flight')
  finish()

  const reply = await answered
  t.equal(reply.status, 200, 'the delivery in its handler is answered')
  t.same(reply.json, { ok: true, duplicate: false })
  await closed$
  t.same(await injectPoster(other)(body), { status: 200, duplicate: true, retryAfter: undefined },
    'after the close a redelivery to another instance is a duplicate')
  t.equal(runs.get(String(body.uuid)), 1, 'the handler ran once')
})

test('a keep-alive sender whose delivery is in flight at close() is told Connection: close, so close() does not wait for keepAliveTimeout', async (t) => {
  const app = Fastify({ keepAliveTimeout: 30_000 })
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks)
  let entered: () => void = () => {}
  const inHandler = new Promise<void>((resolve) => { entered = resolve })
  app.superai.on('callback', async () => {
    entered()
    await new Promise((resolve) => setTimeout(resolve, 200))
  })
  const url = await listenLocal(app)
  // Node's fetch keeps the connection alive unless the server says otherwise
  const answered = postCallback(url, callbackBody())
  await inHandler
  const started = Date.now()
  const closed = app.close()
  const reply = await answered
  t.equal(reply.status, 200)
  t.equal(reply.headers.get('connection'), 'close')
  await closed
  t.ok(Date.now() - started < 5000, `close() took ${Date.now() - started} ms, not the 30 s keep-alive`)
})
