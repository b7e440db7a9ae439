import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import superaiCallbacks, { codes } from '../../src/index.js'
import { callbackBody } from '../helpers/callbacks.js'
import { ask, freePort, waitFor } from '../helpers/redis-server.js'
import { jsonOf } from '../helpers/receiver.js'
import { runCliHere as runCli } from '../helpers/cli.js'
import { startRedisSentinel } from '../helpers/redis-sentinel.js'
import { checkQueuedOnce } from '../helpers/queue.js'
import { injectPoster, type Answer } from '../helpers/sender.js'

/** One master, one replica and a sentinel, through the plugin's `redis: { sentinels, name }` configuration. */

test('a Sentinel failover: callbacks are accepted again within seconds of killing the master', async (t) => {
  const setup = await startRedisSentinel(t.teardown.bind(t), { count: 1, downAfterMs: 1000 })
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, {
    redis: { sentinels: setup.sentinels, name: setup.name }, keyPrefix: 'test:sentinel:', lease: 2
  })
  const runs = new Map<string, number>()
  app.superai.on('callback', (event) => { runs.set(event.uuid, (runs.get(event.uuid) ?? 0) + 1) })
  const post = injectPoster(app)

  const before = callbackBody()
  t.same(await post(before), { status: 200, duplicate: false, retryAfter: undefined }, 'processed on the first master')
  // WAIT: the processed mark is on the replica before the master dies (replication is asynchronous otherwise)
  t.equal(await ask(setup.master.port, 'WAIT', 1, 2000), 1, 'replicated')

  await setup.master.kill()
  const killedAt = Date.now()
  const during = callbackBody()
  const seen = new Map<number, number>()
  let answer: Answer | undefined
  while (Date.now() - killedAt < 30_000) {
    answer = await post(during).catch(() => undefined)
    if (answer !== undefined) seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1)
    if (answer?.status === 200) break
    await sleep(100)
  }
  const recoveredMs = Date.now() - killedAt
  if (answer?.status !== 200) {
    // what the sentinel thinks, to tell a failover that did not happen from a client that did not follow it
    const [port] = setup.sentinels.map((sentinel) => sentinel.port)
    const flat = (reply: unknown): string => JSON.stringify(reply)
    t.comment(`sentinel master: ${flat(await ask(port ?? 0, 'SENTINEL', 'MASTER', setup.name).catch(String))}`)
    t.comment(`sentinel replicas: ${flat(await ask(port ?? 0, 'SENTINEL', 'REPLICAS', setup.name).catch(String))}`)
    t.comment(`sentinel info: ${flat(await ask(port ?? 0, 'INFO', 'sentinel').catch(String))}`)
  }
  t.same(answer, { status: 200, duplicate: false, retryAfter: undefined }, 'accepted on the new master')
  t.ok([...seen.keys()].every((status) => status === 503 || status === 200), `only 503 while failing over (${JSON.stringify([...seen])})`)
  t.ok(recoveredMs < 15_000, `within seconds (${recoveredMs} ms)`)
  t.equal(await setup.masterPort(), setup.replica.port, 'the sentinel promoted the replica')

  t.same(await post(before), { status: 200, duplicate: true, retryAfter: undefined }, 'the mark replicated before the kill survived')
  t.same(await post(during), { status: 200, duplicate: true, retryAfter: undefined })
  t.equal(runs.get(String(before.uuid)), 1)
  t.equal(runs.get(String(during.uuid)), 1)
  t.comment(`sentinel failover: accepted again ${recoveredMs} ms after the master was killed (down-after 1000 ms), answers ${JSON.stringify([...seen])}`)
})

test('queue mode through a Sentinel configuration: 202, and the handlers run in the worker', async (t) => {
  const setup = await startRedisSentinel(t.teardown.bind(t), { count: 1, downAfterMs: 1000 })
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, {
    redis: { sentinels: setup.sentinels, name: setup.name }, keyPrefix: 'test:sentinel-queue:', queue: { backoff: { type: 'fixed', delay: 50 } }
  })
  await checkQueuedOnce(t, app, 5)
})

test('the CLI reaches dead letters through the sentinels (--sentinel host:port --master name)', async (t) => {
  const setup = await startRedisSentinel(t.teardown.bind(t), { count: 1, downAfterMs: 1000 })
  const queue = { name: `q-${randomUUID().slice(0, 8)}`, attempts: 1 }
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { redis: { sentinels: setup.sentinels, name: setup.name }, keyPrefix: 'test:sentinel-cli:', queue })
  app.superai.on('callback', async () => { throw new Error('boom') })
  await app.ready()
  const body = callbackBody()
  t.equal((await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: body })).statusCode, 202)
  await waitFor('the dead letter', async () => app.superai.stats().deadLettered === 1, 10_000)
  const sentinel = `${setup.sentinels[0]?.host ?? ''}:${setup.sentinels[0]?.port ?? 0}`
  const list = await runCli(['dead-letters', 'list', '--sentinel', sentinel, '--master', setup.name, '--queue', queue.name, '--json'])
  t.equal(list.code, 0, list.stderr)
  const listed = jsonOf<{ count: number, deadLetters: Array<{ event: { uuid: string } }> }>(list)
  t.equal(listed.count, 1)
  t.equal(listed.deadLetters[0]?.event.uuid, body.uuid)
  t.equal((await runCli(['dead-letters', 'list', '--sentinel', sentinel])).code, 2, '--master is needed')
  t.equal((await runCli(['dead-letters', 'list', '--redis', 'redis://127.0.0.1:6379', '--master', setup.name])).code, 2, '--master only with --sentinel')
})

test('sentinels that do not answer fail register with a coded error naming "redis"', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close().catch(() => {}) })
  const port = await freePort()
  const started = Date.now()
  const err = await app.register(superaiCallbacks, {
    redis: { sentinels: [{ host: '127.0.0.1', port }], name: 'nobody', connectTimeout: 1000 }
  }).ready().then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof codes.FST_SUPERAI_INVALID_OPTION, 'coded error')
  t.match((err as Error).message, /"redis"/)
  t.ok(Date.now() - started < 5000, `promptly (${Date.now() - started} ms)`)
})
