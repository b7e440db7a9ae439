import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { SuperaiQueueOptions } from '../../src/queue/options.js'
import { REDIS_URL, callbackBody, deleteUnder } from './callbacks.js'
import { injectPoster } from './sender.js'

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

/**
 * Queue mode as a user sees it on `app` (registered, handlers not yet subscribed): `count` callbacks are each
 * answered 202, the in-process worker runs each once, and a redelivery is a duplicate.
 */
export async function checkQueuedOnce (t: Test, app: FastifyInstance, count: number): Promise<void> {
  const runs = new Map<string, number>()
  app.superai.on('callback', (event) => { runs.set(event.uuid, (runs.get(event.uuid) ?? 0) + 1) })
  await app.ready()
  const bodies = Array.from({ length: count }, () => callbackBody())
  for (const body of bodies) {
    const reply = await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: body })
    t.equal(reply.statusCode, 202, 'queued')
  }
  await waitFor(() => runs.size >= bodies.length)
  t.equal(runs.size, bodies.length, 'the in-process worker ran every callback')
  t.ok([...runs.values()].every((n) => n === 1), 'each once')
  t.same(await injectPoster(app)(bodies[0]), { status: 200, duplicate: true, retryAfter: undefined }, 'a redelivery is a duplicate')
}
