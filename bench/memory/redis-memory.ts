/**
 * Redis memory per remembered callback: callbacks written exactly the way the plugin writes a state change
 * (its RedisStore's claim reading the job's later states, then the completion recording the state, its
 * default key format and ttl), then `MEMORY USAGE` of every key. `npm run bench:memory` measures the
 * whole callback through `app.inject` on a private Redis, per kind and mode (bench/memory/per-callback.ts).
 * The prefix has the default's length ('superai:callbacks:', 18 characters) but is the run's own, so that
 * the shared Redis is never touched outside it. A sweep over key lengths tells which length meets a budget.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { RedisStore, defaultIdempotencyKey, type SuperaiEvent } from '../../src/index.js'
import { jobMarksOf } from '../../src/delivery/supersession.js'
import { DEFAULTS } from '../../src/options.js'
import { CLIENT_DEFAULTS } from '../../src/store/redis-defaults.js'
import { deleteKeys, memoryUsage, usedMemory } from '../lib/redis.js'

export interface RedisMemoryResult {
  readonly callbacks: number
  readonly keyLength: number
  readonly exampleKey: string
  /** Average `MEMORY USAGE` of one remembered callback, bytes. */
  readonly memoryUsage: number
  /** `used_memory` growth per callback (includes the expires dictionary); indicative on a shared Redis. */
  readonly usedMemoryPerKey: number
  /** Average `MEMORY USAGE` of a processed key by total key length. */
  readonly byKeyLength: ReadonlyArray<{ readonly keyLength: number, readonly memoryUsage: number }>
  /** The longest key length in the sweep whose `MEMORY USAGE` is within `budget`. */
  readonly longestKeyWithinBudget: number | undefined
  readonly budget: number
  readonly seconds: number
}

/** Around jemalloc's size classes (48, 64, 80, 96 bytes) for the key's sds: 4 bytes of header and terminator. */
const SWEEP = [32, 40, 44, 45, 52, 60, 61, 71, 76, 77, 92, 93]

export async function measureRedisMemory (redisUrl: string, runPrefix: string, callbacks: number, budget = 100): Promise<RedisMemoryResult> {
  const started = performance.now()
  // the plugin's own client settings and store: batched writes, the claim the server supports
  const redis = new Redis(redisUrl, { ...CLIENT_DEFAULTS, commandTimeout: undefined, lazyConnect: true })
  const prefix = `${`${runPrefix}mem`.padEnd(DEFAULTS.keyPrefix.length - 1, '_')}:`
  if (prefix.length !== DEFAULTS.keyPrefix.length) {
    throw new Error(`run prefix "${runPrefix}" is too long for a key prefix of ${DEFAULTS.keyPrefix.length} characters`)
  }
  try {
    await redis.connect()
    const store = await RedisStore.create(redis)
    const before = await usedMemory(redis)
    const keys: string[] = []
    for (let i = 0; i < callbacks; i += 2000) {
      const batch: Array<Promise<unknown>> = []
      for (let j = i; j < Math.min(callbacks, i + 2000); j++) {
        const event = { id: String(j), uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED' } as SuperaiEvent
        const key = prefix + defaultIdempotencyKey(event)
        const token = randomBytes(12).toString('base64url')
        const job = jobMarksOf(event, { keyPrefix: prefix, idempotencyKey: defaultIdempotencyKey }, key)
        if (job === undefined) throw new Error('a state change has its job\'s states')
        keys.push(key)
        batch.push(store.claimAndRead(key, token, DEFAULTS.lease * 1000, job.query).then(async () => await store.completeAndMark(key, token, DEFAULTS.ttl * 1000, job.record)))
      }
      await Promise.all(batch)
    }
    const after = await usedMemory(redis)
    const sizes = await memoryUsage(redis, keys)
    const average = sizes.reduce((a, b) => a + b, 0) / sizes.length

    const byKeyLength: Array<{ keyLength: number, memoryUsage: number }> = []
    for (const keyLength of SWEEP) {
      const sweepPrefix = `${runPrefix}len${keyLength}:`
      const sweepKeys = Array.from({ length: 200 }, (_, i) => (sweepPrefix + String(i).padStart(4, '0')).padEnd(keyLength, 'x'))
      const pipeline = redis.pipeline()
      for (const key of sweepKeys) pipeline.set(key, '1', 'PX', DEFAULTS.ttl * 1000)
      await pipeline.exec()
      const sweepSizes = await memoryUsage(redis, sweepKeys)
      byKeyLength.push({ keyLength, memoryUsage: sweepSizes.reduce((a, b) => a + b, 0) / sweepSizes.length })
      await redis.unlink(...sweepKeys)
    }
    const within = byKeyLength.filter((row) => row.memoryUsage <= budget).map((row) => row.keyLength)
    return {
      callbacks,
      keyLength: keys[0]?.length ?? 0,
      exampleKey: keys[0] ?? '',
      memoryUsage: average,
      usedMemoryPerKey: (after - before) / callbacks,
      byKeyLength,
      longestKeyWithinBudget: within.length === 0 ? undefined : Math.max(...within),
      budget,
      seconds: (performance.now() - started) / 1000
    }
  } finally {
    await deleteKeys(redis, prefix)
    await redis.quit()
  }
}
