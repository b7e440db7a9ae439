/**
 * `npm run bench:wait`: how long after a handler's success a `waitFor` on another instance sharing the
 * Redis resolves. Two apps with the plugin, each with its own Redis connections (as two instances have),
 * on one key prefix: B waits for a job, A receives its callback; the latency is from the end of A's
 * handler to B's wait resolving (one clock, both apps in this process). It covers A's completion (the
 * script that records the state and PUBLISHes it), Redis' delivery to B's subscription connection and B's
 * resolving. Each wait is subscribed before its callback arrives (the publication's path, not the read of
 * a state processed earlier); callbacks are sent one at a time.
 *
 *   npm run bench:wait [-- --waits=1000 --redis=redis://127.0.0.1:6379]
 *
 * Keys live under `sb:wait:<run id>:` and are deleted at the end (derived from the callbacks sent; no SCAN).
 */
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import superaiCallbacks, { type WaitResult } from '../src/index.js'
import { defaultIdempotencyKey } from '../src/delivery/idempotency-key.js'

const { values } = parseArgs({ options: { waits: { type: 'string', default: '1000' }, redis: { type: 'string', default: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' } } })
const WAITS = Number(values.waits)
const REDIS_URL = values.redis ?? 'redis://127.0.0.1:6379'
/** Waits subscribed at once before their callbacks are sent: a batch of jobs in flight, as a busy route would have. */
const BATCH = 100

const keyPrefix = `sb:wait:${randomUUID().slice(0, 8)}:`
const handlerDone = new Map<string, number>()

async function instance (handler: boolean): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix })
  if (handler) app.superai.onJobCompleted((event) => { handlerDone.set(event.uuid, performance.now()) })
  await app.ready()
  return app
}

const a = await instance(true)
const b = await instance(false)
const redis = new Redis(REDIS_URL)
const latencies: number[] = []
const keys: string[] = []
const body = (uuid: string): Record<string, string> => ({ id: '1', uuid, state: 'COMPLETED', action: 'RESOLVED' })

try {
  for (let done = 0; done < WAITS; done += BATCH) {
    const uuids = Array.from({ length: Math.min(BATCH, WAITS - done) }, () => randomUUID())
    const resolvedAt = new Map<string, number>()
    const waits = uuids.map(async (uuid) => {
      const result: WaitResult = await b.superai.waitFor(uuid, { timeout: 30_000 })
      resolvedAt.set(result.uuid, performance.now())
    })
    // every job of the batch subscribed: the callbacks below are heard through the publication
    const channels = uuids.map((uuid) => `${keyPrefix}processed:${uuid}`)
    for (;;) {
      const counts = await redis.pubsub('NUMSUB', ...channels) as Array<string | number>
      if (counts.filter((_, i) => i % 2 === 1).every((count) => Number(count) >= 1)) break
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    for (const uuid of uuids) {
      const response = await a.inject({ method: 'POST', url: '/superai/callbacks/', payload: body(uuid) })
      if (response.statusCode !== 200) throw new Error(`callback answered ${response.statusCode}`)
      keys.push(keyPrefix + defaultIdempotencyKey(body(uuid) as never))
    }
    await Promise.all(waits)
    for (const uuid of uuids) latencies.push((resolvedAt.get(uuid) ?? NaN) - (handlerDone.get(uuid) ?? NaN))
  }
} finally {
  await a.close()
  await b.close()
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
  await redis.quit()
}

latencies.sort((x, y) => x - y)
const at = (q: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN).toFixed(2)
console.log(`waitFor on another instance, ${latencies.length} waits, from the handler's success to the wait resolving (ms):`)
console.log(`p50 ${at(0.5)}  p90 ${at(0.9)}  p99 ${at(0.99)}  max ${(latencies.at(-1) ?? NaN).toFixed(2)}`)
