import { setImmediate as nextTurn } from 'node:timers/promises'
import fc from 'fast-check'
import { Redis } from 'ioredis'
import { test, type Test } from 'tap'
import { RedisStore } from '../../src/index.js'
import { CLIENT_DEFAULTS } from '../../src/store/redis-defaults.js'
import { REDIS_URL, cleanUpAtTeardown, uniquePrefix } from '../helpers/callbacks.js'
import { logCommands } from '../helpers/command-log.js'
import { startRedisServer } from '../helpers/redis-server.js'

/** A client as the plugin makes its own (defaults, write batching), connected; quit at teardown. */
async function pluginClient (t: Test, url = REDIS_URL): Promise<Redis> {
  const redis = new Redis(url, { ...CLIENT_DEFAULTS, lazyConnect: true })
  await redis.connect()
  t.teardown(async () => { await redis.quit().catch(() => { redis.disconnect() }) })
  return redis
}

/** A test's own key prefix (deleted at teardown), a client as the plugin makes one, its store, and what the client sends. */
async function setUp (t: Test, name: string): Promise<{ prefix: string, redis: Redis, store: RedisStore, log: string[] }> {
  const prefix = uniquePrefix(name)
  cleanUpAtTeardown(t, prefix)
  const redis = await pluginClient(t)
  const store = await RedisStore.create(redis)
  return { prefix, redis, store, log: logCommands(redis) }
}

/**
 * One store operation, on one of a few keys (so that they meet), with one of two tokens. A claim that
 * reads a job's states reads some of the same keys as state keys, with or without the marks key; a
 * completion records its state in one of them (its own, or another: a worker's run claim) or ORs a mark.
 */
type Op =
  | { readonly op: 'claim' | 'complete' | 'release', readonly key: number, readonly token: number }
  | { readonly op: 'claimAndRead', readonly key: number, readonly token: number, readonly marks: boolean, readonly states: readonly number[] }
  | { readonly op: 'completeAndMark', readonly key: number, readonly token: number, readonly record: number, readonly mark: number, readonly announce: boolean }

const anOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('claim' as const, 'complete' as const, 'release' as const), key: fc.nat(3), token: fc.nat(1) }),
  fc.record({ op: fc.constant('claimAndRead' as const), key: fc.nat(3), token: fc.nat(1), marks: fc.boolean(), states: fc.uniqueArray(fc.nat(3), { maxLength: 3 }) }),
  fc.record({ op: fc.constant('completeAndMark' as const), key: fc.nat(3), token: fc.nat(1), record: fc.nat(3), mark: fc.integer({ min: 0, max: 255 }), announce: fc.boolean() })
)

/** Starts every operation in this turn, in order, and collects the answers (in-flight leases rounded to seconds). */
async function runInOneTurn (store: RedisStore, prefix: string, ops: readonly Op[]): Promise<unknown[]> {
  const answers = ops.map(async (o, i) => {
    const key = `${prefix}k${o.key}`
    const token = `token-${o.token}`
    const marksKey = `${prefix}marks`
    switch (o.op) {
      case 'claim': return await store.claim(key, token, 60_000)
      case 'claimAndRead': return await store.claimAndRead(key, token, 60_000, {
        marksKey: o.marks ? marksKey : undefined, stateKeys: o.states.map((k) => `${prefix}k${k}`), stateBits: o.states.map((k) => 1 << (k + 8))
      })
      case 'complete': return await store.complete(key, token, 60_000)
      case 'release': return await store.release(key, token)
      case 'completeAndMark': {
        // an announcement is published whatever the completion answers, named by the operation's place in the turn
        const announce = o.announce ? { channel: `${prefix}announced`, state: String(i) } : undefined
        return await store.completeAndMark(key, token, 60_000, o.mark === 0 ? { stateKey: `${prefix}k${o.record}`, announce } : { marksKey, mark: o.mark, announce })
      }
    }
  })
  return (await Promise.all(answers)).map((answer) =>
    typeof answer === 'object' && answer.status === 'inFlight' ? { ...answer, retryAfterMs: Math.round(answer.retryAfterMs / 1000) } : answer)
}

test('the operations of one turn go as one script call, and each answers as it would alone, in the order called', async (t) => {
  const prefix = uniquePrefix('op-batch')
  cleanUpAtTeardown(t, prefix)
  const redis = await pluginClient(t)
  const batched = await RedisStore.create(redis)
  // each operation one script, so each is decided in the order sent (the native claim's in-flight path
  // takes a second round trip and may decide after later operations of the turn: another valid order)
  const alone = new RedisStore(redis, { nativeClaim: false, batch: false })
  const log = logCommands(redis)
  // what the completions announce (waitFor's publication), by channel, in the order received
  const subscriber = new Redis(REDIS_URL)
  t.teardown(async () => { await subscriber.quit() })
  const heard = new Map<string, string[]>()
  subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => { heard.set(channel, [...heard.get(channel) ?? [], message]) })
  await subscriber.psubscribe(`${prefix}*announced`)
  let run = 0
  await fc.assert(fc.asyncProperty(fc.array(anOp, { minLength: 2, maxLength: 40 }), async (ops) => {
    run++
    log.length = 0
    const together = await runInOneTurn(batched, `${prefix}b${run}:`, ops)
    const sent = log.filter((entry) => entry.startsWith('send '))
    const separately = await runInOneTurn(alone, `${prefix}a${run}:`, ops)
    const state = async (side: string): Promise<unknown> => await Promise.all([0, 1, 2, 3].map(async (k) => await redis.get(`${prefix}${side}${run}:k${k}`)).concat(redis.get(`${prefix}${side}${run}:marks`)))
    const announced = ops.flatMap((o, i) => o.op === 'completeAndMark' && o.announce ? [String(i)] : [])
    // a PING on the subscriber answers after every message published before it
    await subscriber.ping()
    const heardOn = (side: string): string => JSON.stringify(heard.get(`${prefix}${side}${run}:announced`) ?? [])
    return sent.length === 1 && sent[0] === 'send evalsha' &&
      JSON.stringify(together) === JSON.stringify(separately) &&
      JSON.stringify(await state('b')) === JSON.stringify(await state('a')) &&
      heardOn('b') === JSON.stringify(announced) && heardOn('a') === JSON.stringify(announced)
  }), { numRuns: 60 })
  t.pass('60 random turns of 2 to 40 operations: one call each, the same answers, the same keys and the same announcements, in order, as each operation sent alone')
})

test('a turn with one operation sends it alone: the native claim, the completion script', async (t) => {
  const { prefix, store, log } = await setUp(t, 'op-batch-one')
  t.same(await store.claim(`${prefix}a`, 'x', 60_000), { status: 'claimed' })
  t.equal(await store.complete(`${prefix}a`, 'x', 60_000), true)
  t.same(log.filter((entry) => entry.startsWith('send ')), ['send set', 'send evalsha'])
})

test('the call leaves in the turn its operations were made in, not a turn later', async (t) => {
  const { prefix, redis, store, log } = await setUp(t, 'op-batch-turn')
  const claims = Array.from({ length: 5 }, async (_, i) => await store.claim(`${prefix}${i}`, 'x', 60_000))
  // a direct command in the same turn leaves at once; the batch call at the end of that same turn
  const direct = redis.set(`${prefix}direct`, '1', 'PX', 60_000)
  await nextTurn()
  t.same(log.filter((entry) => entry.startsWith('send ')), ['send set', 'send evalsha'], 'both sent at the end of the turn')
  t.same(await Promise.all(claims), Array(5).fill({ status: 'claimed' }))
  t.equal(await direct, 'OK')
})

test('an operation\'s error is its own; a call that fails fails each of its operations', async (t) => {
  const { prefix, redis, store } = await setUp(t, 'op-batch-errors')
  await redis.rpush(`${prefix}list`, 'not a claim')
  const [before, wrong, after] = await Promise.allSettled([
    store.claim(`${prefix}a`, 'x', 60_000),
    store.claim(`${prefix}list`, 'x', 60_000),
    store.claimAndRead(`${prefix}b`, 'x', 60_000, { marksKey: `${prefix}marks`, stateKeys: [`${prefix}c`], stateBits: [1] })
  ])
  t.same(before, { status: 'fulfilled', value: { status: 'claimed' } })
  t.equal(wrong?.status, 'rejected')
  t.match(wrong?.status === 'rejected' ? String(wrong.reason) : '', /WRONGTYPE/, 'the key of another type fails its own operation')
  t.same(after, { status: 'fulfilled', value: { status: 'claimed', marks: 0 } }, 'the operation after it still ran')

  // offline: the call cannot be sent, and every operation of the turn hears why
  const offline = new Redis(REDIS_URL, { ...CLIENT_DEFAULTS, lazyConnect: true })
  const idle = new RedisStore(offline, { nativeClaim: true })
  const failed = await Promise.allSettled([idle.claim(`${prefix}c`, 'x', 1000), idle.complete(`${prefix}d`, 'x', 1000), idle.release(`${prefix}e`, 'x')])
  t.same(failed.map((result) => result.status), ['rejected', 'rejected', 'rejected'])
  t.match(failed[0]?.status === 'rejected' ? String(failed[0].reason) : '', /enableOfflineQueue/)
  offline.disconnect()
})

test('more operations than one call takes: several calls, every answer in order', async (t) => {
  const { prefix, store, log } = await setUp(t, 'op-batch-many')
  const n = 600
  const claims = Array.from({ length: n }, async (_, i) => await store.claim(`${prefix}${i % 300}`, `t${i}`, 60_000))
  const answers = await Promise.all(claims)
  t.same(log.filter((entry) => entry === 'send evalsha').length, 3, '600 operations: 256 + 256 + 88')
  t.same(answers.slice(0, 300), Array(300).fill({ status: 'claimed' }), 'the first claim of each key wins')
  t.ok(answers.slice(300).every((answer) => answer.status === 'inFlight'), 'the second one, in the same turn, finds it in flight')
})

test('a server that lost its scripts (restarted): the batch is sent again as EVAL, and answers', async (t) => {
  const teardowns: Array<() => Promise<void>> = []
  t.teardown(async () => { for (const teardown of teardowns.reverse()) await teardown() })
  const server = await startRedisServer((fn) => { teardowns.push(fn) })
  const redis = await pluginClient(t, server.url)
  const store = await RedisStore.create(redis)
  await redis.script('FLUSH')
  const log = logCommands(redis)
  const answers = await Promise.all([store.claim('a', 'x', 60_000), store.claimAndRead('b', 'x', 60_000, { marksKey: 'marks', stateKeys: ['c'], stateBits: [1] })])
  t.same(answers, [{ status: 'claimed' }, { status: 'claimed', marks: 0 }])
  t.same(log.filter((entry) => entry.startsWith('send ')), ['send evalsha', 'send eval'])
})
