import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Test } from 'tap'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A valid callback body; each call is a new job unless `uuid` is given. */
export function callbackBody (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: '42', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false', ...overrides }
}

/** A key prefix no other test run shares, so tests never assume an empty Redis. */
export const uniquePrefix = (name: string): string => `test:${name}:${process.pid}:${randomUUID().slice(0, 8)}:`

/** Every key under `prefix`, by SCAN (never KEYS on a shared server). */
export async function keysUnder (redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

export async function deleteUnder (redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix)
  if (keys.length > 0) await redis.del(...keys)
}

/** A client for the test's own checks and clean-up; quit at teardown. */
export function testRedis (): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false })
}

/** Deletes every key under `prefix` at teardown, whatever happened in the test. */
export function cleanUpAtTeardown (t: Test, prefix: string): void {
  t.teardown(async () => {
    const redis = testRedis()
    try {
      await deleteUnder(redis, prefix)
    } finally {
      await redis.quit()
    }
  })
}
