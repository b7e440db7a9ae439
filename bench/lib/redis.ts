/** The harness' own Redis chores: counting, sizing and deleting the keys of one prefix (SCAN, never KEYS or FLUSHALL). */
import type { Redis } from 'ioredis'

export async function * scanKeys (redis: Redis, prefix: string, count = 1000): AsyncGenerator<string[]> {
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', count)
    cursor = next
    if (batch.length > 0) yield batch
  } while (cursor !== '0')
}

/** Deletes every key under `prefix`; resolves to how many there were. */
export async function deleteKeys (redis: Redis, prefix: string): Promise<number> {
  let deleted = 0
  for await (const batch of scanKeys(redis, prefix, 5000)) deleted += await redis.unlink(...batch)
  return deleted
}

export async function countKeys (redis: Redis, prefix: string): Promise<number> {
  let total = 0
  for await (const batch of scanKeys(redis, prefix, 5000)) total += batch.length
  return total
}

/** `MEMORY USAGE key SAMPLES 0` of each key, pipelined; missing keys are skipped. */
export async function memoryUsage (redis: Redis, keys: readonly string[]): Promise<number[]> {
  const sizes: number[] = []
  for (let i = 0; i < keys.length; i += 1000) {
    const pipeline = redis.pipeline()
    for (const key of keys.slice(i, i + 1000)) pipeline.memory('USAGE', key, 'SAMPLES', 0)
    for (const [err, size] of await pipeline.exec() ?? []) {
      if (err === null && typeof size === 'number') sizes.push(size)
    }
  }
  return sizes
}

/** Average `MEMORY USAGE` over up to `limit` keys under `prefix` (skipping keys that match `skip`). */
export async function sampleMemoryUsage (redis: Redis, prefix: string, limit: number, skip?: RegExp): Promise<{ keys: number, average: number }> {
  const keys: string[] = []
  for await (const batch of scanKeys(redis, prefix)) {
    for (const key of batch) if (skip === undefined || !skip.test(key)) keys.push(key)
    if (keys.length >= limit) break
  }
  const sizes = await memoryUsage(redis, keys.slice(0, limit))
  return { keys: sizes.length, average: sizes.length === 0 ? Number.NaN : sizes.reduce((a, b) => a + b, 0) / sizes.length }
}

/** Redis' own CPU time (used_cpu_sys + used_cpu_user), microseconds; the whole server's, so other clients count too. */
export async function redisCpu (redis: Redis): Promise<number> {
  const info = await redis.info('cpu')
  const seconds = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0)
  return Math.round((seconds('used_cpu_sys') + seconds('used_cpu_user')) * 1e6)
}

export async function usedMemory (redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN)
}

/**
 * The sum of `MEMORY USAGE` of every key on the server: the keys' own bytes, without the hash tables'
 * slots. It scans the whole keyspace: for a redis-server of the benchmark's own only.
 */
export async function keysOwnBytes (redis: Redis): Promise<number> {
  let total = 0
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 5000)
    cursor = next
    const pipeline = redis.pipeline()
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', 0)
    for (const [, size] of await pipeline.exec() ?? []) total += Number(size ?? 0)
  } while (cursor !== '0')
  return total
}
