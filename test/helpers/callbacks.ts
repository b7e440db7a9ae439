import { randomUUID } from 'node:crypto'
import { Redis, type Command } from 'ioredis'
import type { Test } from 'tap'

/** The one Redis every test that needs a shared one uses; `REDIS_URL=redis://127.0.0.1:<port> npx tap` moves them all. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * Every key a Redis command of this test process named, whichever client sent it (the plugin's own too:
 * all of them send through `Redis.prototype.sendCommand`, Cluster nodes included). Tests find what they
 * wrote here instead of scanning a keyspace that may hold millions of unrelated keys. Keys written only
 * by another process (a child) are not in it.
 */
const touched = new Set<string>()
const RECORDING = Symbol.for('superai-callbacks.test.recording')
type Send = (command: Command, ...rest: unknown[]) => unknown
const proto = Redis.prototype as unknown as { sendCommand: Send, [RECORDING]?: true }
if (proto[RECORDING] !== true) {
  const send = proto.sendCommand
  proto.sendCommand = function (this: Redis, command: Command, ...rest: unknown[]): unknown {
    for (const key of command.getKeys()) touched.add(key.toString())
    return send.call(this, command, ...rest)
  }
  proto[RECORDING] = true
}

/** A valid callback body; each call is a new job unless `uuid` is given. */
export function callbackBody (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: '42', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false', ...overrides }
}

/** A key prefix no other test run shares, so tests never assume an empty Redis. */
export const uniquePrefix = (name: string): string => `test:${name}:${process.pid}:${randomUUID().slice(0, 8)}:`

/** Every key under `prefix` that this process touched and that exists now; no SCAN of the keyspace. */
export async function keysUnder (redis: Redis, prefix: string): Promise<string[]> {
  const candidates = [...touched].filter((key) => key.startsWith(prefix)).sort()
  if (candidates.length === 0) return []
  const replies = await redis.pipeline(candidates.map((key) => ['exists', key])).exec() ?? []
  return candidates.filter((_key, i) => {
    const [err, exists] = replies[i] ?? [new Error('no reply'), 0]
    if (err !== null) throw err
    return exists === 1
  })
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
