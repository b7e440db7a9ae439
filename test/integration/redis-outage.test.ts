import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import superaiCallbacks from '../../src/index.js'
import { code, codeOf, listenLocal, postCallback, type HttpReply } from '../helpers/http.js'
import { freePort, startRedisServer } from '../helpers/redis-server.js'

/** A private redis-server that the test kills and restarts: 503 while it is down, processed once it is back. */

const validBody = (): Record<string, unknown> => ({ id: '42', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED' })
const keyPrefix = `test:outage:${process.pid}:${randomUUID()}:`

const isAccepted = (reply: HttpReply, duplicate: boolean): boolean =>
  reply.status === 200 && JSON.stringify(reply.json) === JSON.stringify({ ok: true, duplicate })

/** A client of the test's own, for looking at the private server; quit at teardown. */
function checker (url: string, teardown: (fn: () => Promise<void>) => void): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  teardown(async () => { redis.disconnect() })
  return redis
}

/** How many clients the server has, other than the one asking. */
async function otherClients (redis: Redis): Promise<number> {
  const list = await redis.client('LIST') as string
  return list.split('\n').filter((line) => line.trim() !== '').length - 1
}

test('Redis goes away and comes back', async (t) => {
  const server = await startRedisServer(t.teardown.bind(t))
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { redis: server.url, keyPrefix })
  const calls = new Map<string, number>()
  app.superai.on('callback', (event) => { calls.set(event.uuid, (calls.get(event.uuid) ?? 0) + 1) })
  const url = await listenLocal(app)

  const before = validBody()
  t.ok(isAccepted(await postCallback(url, before), false), 'processed while Redis is up')
  t.equal(calls.get(String(before.uuid)), 1)

  await server.kill()
  t.notOk(server.running, 'redis-server is dead')

  const body = validBody()
  const uuid = String(body.uuid)
  for (let i = 0; i < 3; i++) {
    const started = Date.now()
    const down = await postCallback(url, body, { timeoutMs: 8000 })
    const elapsed = Date.now() - started
    t.equal(down.status, 503, `delivery ${i + 1} while Redis is down: 503`)
    t.equal(codeOf(down), code('FST_SUPERAI_STORE_UNAVAILABLE'))
    t.notOk(down.text.includes('ECONNREFUSED') || down.text.includes('    at '), 'no internal detail in the body')
    t.ok(elapsed < 3000, `answered promptly (${elapsed} ms)`)
  }
  t.equal(calls.get(uuid), undefined, 'no handler ran while the store was unreachable')

  await server.restart()
  const deadline = Date.now() + 10_000
  let reply: HttpReply | undefined
  const seen = new Set<number>()
  while (Date.now() < deadline) {
    reply = await postCallback(url, body, { timeoutMs: 5000 })
    seen.add(reply.status)
    if (reply.status !== 503) break
    await sleep(200)
  }
  t.ok(reply !== undefined && isAccepted(reply, false), 'once Redis is back, the callback is processed (duplicate:false)')
  t.ok([...seen].every((status) => status === 503 || status === 200), `only 503s before that (saw ${[...seen].join(', ')})`)
  t.equal(calls.get(uuid), 1, 'the handler ran once')

  t.ok(isAccepted(await postCallback(url, body), true), 'and a redelivery is a duplicate')
  t.equal(calls.get(uuid), 1)
})

test('a frozen Redis (connection open, no answer): 503 within the command timeout, processed after it thaws', async (t) => {
  const server = await startRedisServer(t.teardown.bind(t))
  t.teardown(() => { server.signal('SIGCONT') })
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  const lease = 2
  await app.register(superaiCallbacks, { redis: server.url, keyPrefix, lease })
  let calls = 0
  app.superai.on('callback', () => { calls++ })
  const url = await listenLocal(app)
  t.ok(isAccepted(await postCallback(url, validBody()), false), 'processed while Redis answers')
  calls = 0

  server.signal('SIGSTOP')
  const body = validBody()
  const started = Date.now()
  const frozen = await postCallback(url, body, { timeoutMs: 8000 })
  const elapsed = Date.now() - started
  t.equal(frozen.status, 503, 'a store that does not answer is unavailable')
  t.equal(codeOf(frozen), code('FST_SUPERAI_STORE_UNAVAILABLE'))
  t.ok(elapsed < 4000, `bounded by the command timeout, not hanging (${elapsed} ms)`)
  t.equal(calls, 0, 'no handler ran')

  server.signal('SIGCONT')
  // the claim sent before the freeze lands once Redis thaws, and the release sent after it frees the key
  const deadline = Date.now() + (lease + 5) * 1000
  let reply: HttpReply | undefined
  const seen = new Set<number>()
  while (Date.now() < deadline) {
    reply = await postCallback(url, body, { timeoutMs: 5000 })
    seen.add(reply.status)
    if (reply.status === 200) break
    await sleep(200)
  }
  t.ok(reply !== undefined && isAccepted(reply, false), `processed after Redis thawed (saw ${[...seen].join(', ')})`)
  t.ok([...seen].every((status) => status === 503 || status === 200), 'no 409: the late claim did not hold the key')
  t.equal(calls, 1, 'the handler ran once')
})

test('a Redis URL where nothing listens fails register with a coded error naming "redis"', async (t) => {
  const port = await freePort()
  const app = Fastify()
  t.teardown(async () => { await app.close().catch(() => {}) })
  const started = Date.now()
  const err = await app.register(superaiCallbacks, { redis: `redis://127.0.0.1:${port}`, keyPrefix }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof Error, 'register rejected')
  t.equal((err as { code?: unknown }).code, code('FST_SUPERAI_INVALID_OPTION'))
  t.match((err as Error).message, /"redis"/, 'the message names the option')
  t.ok(Date.now() - started < 6000, 'within the connect timeout')
})

test('app.close() quits the client the plugin created', async (t) => {
  const server = await startRedisServer(t.teardown.bind(t))
  const redis = checker(server.url, t.teardown.bind(t))
  t.equal(await otherClients(redis), 0, 'nobody else connected yet')

  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { redis: server.url, keyPrefix })
  await app.ready()
  t.equal(await otherClients(redis), 1, 'the plugin connected')

  await app.close()
  let remaining = await otherClients(redis)
  for (let i = 0; i < 20 && remaining > 0; i++) {
    await sleep(50)
    remaining = await otherClients(redis)
  }
  t.equal(remaining, 0, 'its connection is gone after close')
})

test('app.close() leaves an injected client open', async (t) => {
  const server = await startRedisServer(t.teardown.bind(t))
  const client = checker(server.url, t.teardown.bind(t))
  await client.ping()
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { redis: client, keyPrefix })
  app.superai.on('callback', () => {})
  const url = await listenLocal(app)
  t.ok(isAccepted(await postCallback(url, validBody()), false), 'the plugin works on the injected client')

  await app.close()
  t.equal(client.status, 'ready', 'still ready after close')
  t.equal(await client.ping(), 'PONG', 'and usable')
  t.equal(client.listenerCount('error'), 1, 'the plugin removed its own listeners (only the test\'s is left)')
})
