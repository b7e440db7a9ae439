import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import type { SuperaiQueueOptions } from '../../src/queue/options.js'
import { REDIS_URL, deleteUnder } from './callbacks.js'

/** A BullMQ queue name and prefix no other test shares, with a small backoff so that retries are quick. */
export function uniqueQueue (overrides: SuperaiQueueOptions = {}): Required<Pick<SuperaiQueueOptions, 'name' | 'prefix'>> & SuperaiQueueOptions {
  const id = `${process.pid}-${randomUUID().slice(0, 8)}`
  return { name: `q-${id}`, prefix: `test-bull-${id}`, backoff: { type: 'fixed', delay: 50 }, ...overrides }
}

/** At teardown: obliterates the test's own queue and deletes what is left under its prefix among the keys this process touched. */
export function removeQueueAtTeardown (t: Test, queue: { readonly name: string, readonly prefix: string }, url = REDIS_URL): void {
  t.teardown(async () => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 })
    redis.on('error', () => {})
    const bull = new Queue(queue.name, { connection: redis, prefix: queue.prefix })
    try {
      await bull.obliterate({ force: true })
    } catch {
      // the test's Redis may be gone (an outage test); the prefix is unique anyway
    }
    await bull.close().catch(() => {})
    await deleteUnder(redis, `${queue.prefix}:`).catch(() => {})
    redis.disconnect()
  })
}

/** Polls `condition` every 20 ms until it holds or `ms` pass; returns whether it held. */
export async function waitFor (condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await condition()) return true
    await sleep(20)
  }
  return await condition()
}
