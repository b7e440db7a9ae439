import { setImmediate as nextTurn } from 'node:timers/promises'
import { test, type Test } from 'tap'
import { Redis } from 'ioredis'
import { batchWrites } from '../../src/store/batch-writes.js'
import { CLIENT_DEFAULTS } from '../../src/store/redis-defaults.js'
import { REDIS_URL, cleanUpAtTeardown, testRedis, uniquePrefix } from '../helpers/callbacks.js'
import { waitFor } from '../helpers/queue.js'

/** A client as the plugin configures one, its writes batched, counting the socket writes it makes. */
async function batchedClient (t: Test): Promise<{ redis: Redis, writes: () => number }> {
  const redis = new Redis(REDIS_URL, { ...CLIENT_DEFAULTS, lazyConnect: true })
  batchWrites(redis)
  await redis.connect()
  t.teardown(async () => { await redis.quit().catch(() => { redis.disconnect() }) })
  let writes = 0
  const count = (socket: Redis['stream']): void => {
    const writev = socket._writev?.bind(socket)
    socket._writev = (chunks, callback) => {
      writes++
      writev?.(chunks, callback)
    }
  }
  count(redis.stream)
  redis.on('ready', () => { count(redis.stream) })
  return { redis, writes: () => writes }
}

/** Values that a framing bug would cut or shift: protocol delimiters, multi-byte characters, empty, large. */
const awkward = (i: number): string =>
  [`plain-${i}`, `crlf\r\n*3\r\n$3\r\nSET\r\n-${i}`, `ünïcödé-🦄-${i}`, '', `${'x'.repeat(64 * 1024)}-${i}`][i % 5] ?? ''

test('many deliveries in one turn: commands arrive in order and intact, and each reply reaches its own command', async (t) => {
  const prefix = uniquePrefix('batch-order')
  cleanUpAtTeardown(t, prefix)
  const { redis, writes } = await batchedClient(t)
  const n = 500
  const before = writes()
  // one turn, as when many requests' I/O callbacks run together: SETs, GETs of each, and an ordered list
  const sets = Array.from({ length: n }, (_, i) => redis.set(`${prefix}v:${i}`, awkward(i), 'PX', 60_000))
  const gets = Array.from({ length: n }, (_, i) => redis.get(`${prefix}v:${i}`))
  const pushes = Array.from({ length: n }, (_, i) => redis.rpush(`${prefix}list`, String(i)))
  const incrs = Array.from({ length: n }, () => redis.incr(`${prefix}counter`))
  t.equal(redis.stream.writableCorked, 1, 'corked for the turn')
  await new Promise((resolve) => { process.nextTick(resolve) })
  t.equal(redis.stream.writableCorked, 1, 'still corked after a tick: the commands of the turn\'s other I/O callbacks join')

  t.same(await Promise.all(sets), Array(n).fill('OK'))
  t.same(await Promise.all(gets), Array.from({ length: n }, (_, i) => awkward(i)), 'each GET answered with its own value, intact')
  t.same(await Promise.all(pushes), Array.from({ length: n }, (_, i) => i + 1), 'RPUSH replies in order')
  t.same(await redis.lrange(`${prefix}list`, 0, -1), Array.from({ length: n }, (_, i) => String(i)), 'the list in the order sent')
  t.same(await Promise.all(incrs), Array.from({ length: n }, (_, i) => i + 1), 'each INCR got its own count')
  t.equal(redis.stream.writableCorked, 0, 'uncorked after the turn')
  // 2,000 commands with 100 large values: a handful of vectored writes, not one per command
  t.ok(writes() - before <= 20, `batched: ${writes() - before} socket writes for ${4 * n} commands`)
})

test('concurrent turns interleaved with awaits: every command answered, in order per key, nothing left corked', async (t) => {
  const prefix = uniquePrefix('batch-turns')
  cleanUpAtTeardown(t, prefix)
  const { redis } = await batchedClient(t)
  // 50 "deliveries", each a claim-like SET NX, an await, then a complete-like SET XX and a read back,
  // so their commands spread over many turns and mix within each
  const runs = Array.from({ length: 50 }, async (_, i) => {
    const key = `${prefix}k:${i}`
    const claimed = await redis.set(key, `token-${i}`, 'PX', 60_000, 'NX')
    if (i % 3 === 0) await nextTurn()
    const again = await redis.set(key, `token-other-${i}`, 'PX', 60_000, 'NX')
    const done = await redis.set(key, `done-${i}`, 'PX', 60_000, 'XX')
    return [claimed, again, done, await redis.get(key)]
  })
  const results = await Promise.all(runs)
  t.same(results, Array.from({ length: 50 }, (_, i) => ['OK', null, 'OK', `done-${i}`]))
  await nextTurn()
  t.equal(redis.stream.writableCorked, 0)
})

test('a connection killed while corked: its commands fail instead of hanging, and the new socket is batched too', async (t) => {
  const prefix = uniquePrefix('batch-reconnect')
  cleanUpAtTeardown(t, prefix)
  const { redis, writes } = await batchedClient(t)
  const admin = testRedis()
  t.teardown(async () => { await admin.quit() })
  const id = await redis.client('ID')
  const first = redis.stream

  const pending = Array.from({ length: 10 }, (_, i) => redis.set(`${prefix}lost:${i}`, '1', 'PX', 60_000).then(() => 'answered', () => 'failed'))
  t.equal(first.writableCorked, 1)
  // the kill lands while this turn's commands wait for the uncork
  await admin.client('KILL', 'ID', String(id))
  const outcomes = await Promise.all(pending)
  t.ok(outcomes.every((outcome) => outcome === 'answered' || outcome === 'failed'), `every command settled (${[...new Set(outcomes)].join(', ')})`)

  t.ok(await waitFor(() => redis.status === 'ready' && redis.stream !== first, 5000), 'reconnected on a new socket')
  const before = writes()
  const replies = Array.from({ length: 20 }, (_, i) => redis.set(`${prefix}after:${i}`, String(i), 'PX', 60_000))
  t.equal(redis.stream.writableCorked, 1, 'the new socket is corked for the turn')
  t.same(await Promise.all(replies), Array(20).fill('OK'))
  t.equal(writes() - before, 1, 'one write for the turn on the new socket')
  t.equal(await redis.get(`${prefix}after:19`), '19')
})
