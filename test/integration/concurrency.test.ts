import { test, type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import superaiCallbacks, { type SuperaiCallbacksOptions } from '../../src/index.js'
import { REDIS_URL, cleanUpAtTeardown, keysUnder, testRedis } from '../helpers/callbacks.js'
import { code, codeOf, listenLocal, postCallback, type HttpReply } from '../helpers/http.js'

/** Real HTTP against the shared Redis: exactly-once under concurrent, repeated and cross-instance deliveries. */

const uniquePrefix = (): string => `test:concurrency:${process.pid}:${randomUUID()}:`

const validBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ id: '42', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED', ...overrides })

/** A Fastify app with its own plugin registration on the real Redis, listening on 127.0.0.1; closed at teardown. */
async function startApp (t: Test, keyPrefix: string, options: SuperaiCallbacksOptions = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix, ...options } as SuperaiCallbacksOptions)
  return { app, url: await listenLocal(app) }
}

const isAccepted = (reply: HttpReply, duplicate: boolean): boolean =>
  reply.status === 200 && JSON.stringify(reply.json) === JSON.stringify({ ok: true, duplicate })

/** A 409 as the README's response table has it: coded body, and a Retry-After of whole seconds no longer than the lease. */
function isInFlight (reply: HttpReply, leaseSeconds: number): boolean {
  const retryAfter = Number(reply.headers.get('retry-after'))
  return reply.status === 409 && codeOf(reply) === code('FST_SUPERAI_IN_FLIGHT') &&
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= leaseSeconds
}

test('50 concurrent identical deliveries run the handler exactly once', async (t) => {
  const keyPrefix = uniquePrefix()
  cleanUpAtTeardown(t, keyPrefix)
  const lease = 30
  const { app, url } = await startApp(t, keyPrefix, { lease })
  let calls = 0
  let running = 0
  let maxRunning = 0
  app.superai.on('callback', async () => {
    calls++
    running++
    maxRunning = Math.max(maxRunning, running)
    await sleep(200)
    running--
  })

  const body = validBody()
  const replies = await Promise.all(Array.from({ length: 50 }, async () => await postCallback(url, body)))

  t.equal(calls, 1, 'the handler ran once')
  t.equal(maxRunning, 1, 'never two runs at once')
  const first = replies.filter((r) => isAccepted(r, false))
  const inFlight = replies.filter((r) => isInFlight(r, lease))
  const duplicates = replies.filter((r) => isAccepted(r, true))
  t.equal(first.length, 1, 'exactly one delivery answered duplicate:false')
  t.equal(first.length + inFlight.length + duplicates.length, 50, 'every other delivery is a 409 with Retry-After or a 200 duplicate')
  t.ok(inFlight.length >= 1, `the deliveries really overlapped the 200 ms handler (${inFlight.length} got 409)`)
  const firstAt = first[0]?.at ?? 0
  t.ok(inFlight.every((r) => r.at <= firstAt + 100), 'a 409 is only answered while the first delivery is in flight')

  const again = await postCallback(url, body)
  t.ok(isAccepted(again, true), 'a redelivery after the first completed is a duplicate')
  t.equal(calls, 1, 'and runs no handler')
  t.equal((await keysUnder(testRedisFor(t), keyPrefix)).length, 1, 'one key for the one callback, which also holds its job\'s processed state')
})

/** A checking client for this test, quit at teardown. */
function testRedisFor (t: Test): ReturnType<typeof testRedis> {
  const redis = testRedis()
  t.teardown(async () => { await redis.quit() })
  return redis
}

test('two app instances on one Redis: each distinct callback runs once in total', async (t) => {
  const keyPrefix = uniquePrefix()
  cleanUpAtTeardown(t, keyPrefix)
  const a = await startApp(t, keyPrefix)
  const b = await startApp(t, keyPrefix)
  t.not(a.url, b.url, 'two servers')
  const runs = new Map<string, Array<'a' | 'b'>>()
  const record = (instance: 'a' | 'b') => async (event: { uuid: string, state: string }): Promise<void> => {
    const name = `${event.uuid}/${event.state}`
    runs.set(name, [...runs.get(name) ?? [], instance])
    await sleep(100)
  }
  a.app.superai.on('callback', record('a'))
  b.app.superai.on('callback', record('b'))

  t.test('concurrent deliveries spread over both instances', async (t) => {
    // 10 callbacks: 5 jobs, two distinct callbacks (states) each, so one job's callbacks must not dedupe each other
    const callbacks = Array.from({ length: 5 }, () => randomUUID()).flatMap((uuid) => [
      validBody({ uuid, state: 'COMPLETED' }), validBody({ uuid, state: 'REVIEWED' })
    ])
    const deliveries = callbacks.flatMap((body) => Array.from({ length: 6 }, (_, i) => ({ body, url: i % 2 === 0 ? a.url : b.url })))
    const replies = await Promise.all(deliveries.map(async ({ body, url }) => ({ body, reply: await postCallback(url, body) })))

    t.equal(runs.size, 10, 'every distinct callback ran')
    t.ok([...runs.values()].every((instances) => instances.length === 1), 'each ran exactly once across both instances')
    for (const body of callbacks) {
      const mine = replies.filter((r) => r.body === body).map((r) => r.reply)
      t.equal(mine.filter((r) => isAccepted(r, false)).length, 1, `${String(body.state)}: one duplicate:false`)
      t.ok(mine.every((r) => isAccepted(r, false) || isAccepted(r, true) || isInFlight(r, 60)), 'the rest are 409 or duplicates')
    }
    t.ok(replies.some(({ reply }) => reply.status === 409), 'the deliveries overlapped')

    const redeliveries = await Promise.all(callbacks.flatMap((body) => [postCallback(a.url, body), postCallback(b.url, body)]))
    t.ok(redeliveries.every((r) => isAccepted(r, true)), 'once processed, both instances answer duplicate')
    t.ok([...runs.values()].every((instances) => instances.length === 1), 'and no handler ran again')
  })

  t.test('sequential deliveries alternating between the instances', async (t) => {
    const body = validBody()
    const replies: HttpReply[] = []
    for (let i = 0; i < 6; i++) replies.push(await postCallback(i % 2 === 0 ? a.url : b.url, body))
    t.ok(isAccepted(replies[0] as HttpReply, false), 'the first is processed')
    t.ok(replies.slice(1).every((r) => isAccepted(r, true)), 'the others, on either instance, are duplicates')
    t.same(runs.get(`${String(body.uuid)}/COMPLETED`), ['a'], 'the handler ran once, on the instance that got it first')
  })
})

test('a failing handler releases the claim: the next delivery runs it again', async (t) => {
  const keyPrefix = uniquePrefix()
  cleanUpAtTeardown(t, keyPrefix)
  const { app, url } = await startApp(t, keyPrefix)
  let calls = 0
  app.superai.on('callback', async () => {
    calls++
    if (calls === 1) throw new Error('secret internal detail 7f3a')
  })
  const body = validBody()

  const failed = await postCallback(url, body)
  t.equal(failed.status, 500)
  t.equal(codeOf(failed), code('FST_SUPERAI_HANDLER_FAILED'))
  t.same(Object.keys(failed.json as object).sort(), ['code', 'error', 'message', 'statusCode'], 'Fastify error shape, nothing more')
  t.notOk(failed.text.includes('7f3a') || failed.text.includes('    at '), 'neither the handler error nor a stack leaves the server')
  t.equal(calls, 1)
  t.same(await keysUnder(testRedisFor(t), keyPrefix), [], 'the claim was released, not left to expire')

  const retried = await postCallback(url, body)
  t.ok(isAccepted(retried, false), 'the redelivery is processed')
  t.equal(calls, 2, 'the handler ran again')

  const third = await postCallback(url, body)
  t.ok(isAccepted(third, true), 'then it is a duplicate')
  t.equal(calls, 2, 'without running the handler')
})
