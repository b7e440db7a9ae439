/**
 * What the plugin's own hot path costs, apart from HTTP: the delivery pipeline alone (normalise, key,
 * claim, dispatch, settle) with a store that answers at once, the default key alone, and the client CPU
 * of one claim plus one complete through `RedisStore` against a real Redis (50 at a time, the way a loaded
 * server sends them, with the plugin's write batching).
 *
 *   npm run bench:hot-path [-- --deliveries=200000 --pairs=40000 --redis=redis://127.0.0.1:6379]
 *
 * Medians of 7 rounds. The Redis keys are under `superai-bench:hot-path:<pid>:` and deleted at the end.
 */
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import Fastify, { type FastifyRequest } from 'fastify'
import { Dispatcher } from '../src/delivery/dispatcher.js'
import { defaultIdempotencyKey } from '../src/delivery/idempotency-key.js'
import { normalizeCallback } from '../src/delivery/normalize.js'
import { RunHandlers } from '../src/delivery/run-handlers.js'
import { DeliveryPipeline } from '../src/delivery/pipeline.js'
import { Observer } from '../src/observability.js'
import type { CallbackBody } from '../src/schema.js'
import { connectRedis } from '../src/store/connection.js'
import { RedisStore } from '../src/store/redis.js'
import type { ClaimResult, IdempotencyStore } from '../src/store/store.js'

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '200000' },
    pairs: { type: 'string', default: '40000' },
    redis: { type: 'string', default: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' }
  }
})
const deliveries = Number(values.deliveries)
const pairs = Number(values.pairs)
const ROUNDS = 7

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

const bodies: CallbackBody[] = Array.from({ length: deliveries }, (_, i) =>
  ({ id: String(i), uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED' }) as CallbackBody)

/** Fastify's logger with logging off, as in an app with `logger: false`. */
const silent = Fastify({ logger: false }).log

async function pipelineNs (): Promise<number[]> {
  const claimed: ClaimResult = { status: 'claimed' }
  const store: IdempotencyStore = { claim: async () => claimed, complete: async () => true, release: async () => true }
  const dispatcher = new Dispatcher()
  let runs = 0
  dispatcher.on('job.completed', (event) => { if (event.uuid.length > 0) runs++ })
  const pipeline = new DeliveryPipeline({
    settings: { keyPrefix: 'p:', ttlMs: 60_000, leaseMs: 60_000, idempotencyKey: defaultIdempotencyKey, unknownValues: 'accept' },
    store,
    observer: new Observer(),
    step: new RunHandlers({ dispatcher })
  })
  const source = { source: 'http', request: {} as FastifyRequest } as const
  const rounds: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now()
    for (const body of bodies) await pipeline.deliver({ body }, source, silent)
    rounds.push((performance.now() - started) * 1e6 / deliveries)
  }
  if (runs !== deliveries * ROUNDS) throw new Error(`the handler ran ${runs} times, not ${deliveries * ROUNDS}`)
  return rounds
}

function keyNs (): number[] {
  const events = bodies.map((body) => normalizeCallback(body).event)
  const rounds: number[] = []
  let length = 0
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now()
    for (const event of events) length += defaultIdempotencyKey(event).length
    rounds.push((performance.now() - started) * 1e6 / deliveries)
  }
  if (length === 0) throw new Error('no key')
  return rounds
}

async function storeMicros (): Promise<number[]> {
  // the client the plugin itself creates from a URL: its defaults and its write batching
  const connection = await connectRedis(values.redis, {}, silent)
  const client = connection.client
  const store = await RedisStore.create(client)
  const prefix = `superai-bench:hot-path:${process.pid}:`
  let sequence = 0
  const round = async (count: number): Promise<number> => {
    const before = process.cpuUsage()
    let left = count
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (left-- > 0) {
        const key = `${prefix}${sequence++}`
        const token = `t${sequence}`
        if ((await store.claim(key, token, 60_000)).status !== 'claimed') throw new Error(`${key} not claimed`)
        if (!await store.complete(key, token, 60_000)) throw new Error(`${key} not completed`)
      }
    }))
    const used = process.cpuUsage(before)
    return (used.user + used.system) / count
  }
  try {
    await round(pairs / 2)
    const rounds: number[] = []
    for (let i = 0; i < ROUNDS; i++) rounds.push(await round(pairs))
    return rounds
  } finally {
    // every key written is `${prefix}0` ... `${prefix}${sequence - 1}`: deleted by name, no keyspace scan
    for (let from = 0; from < sequence; from += 5000) {
      const batch = Array.from({ length: Math.min(5000, sequence - from) }, (_, i) => `${prefix}${from + i}`)
      await client.unlink(...batch)
    }
    await connection.close()
  }
}

const pipeline = await pipelineNs()
const key = keyNs()
const store = await storeMicros()
const show = (xs: number[], digits: number): string => `${median(xs).toFixed(digits)} (rounds ${xs.map((x) => x.toFixed(digits)).join(', ')})`
console.log(`pipeline alone, store answering at once: ${show(pipeline.map((ns) => ns / 1000), 2)} µs per delivery`)
console.log(`default idempotency key alone:          ${show(key.map((ns) => ns / 1000), 2)} µs per key`)
console.log(`RedisStore claim + complete, client CPU: ${show(store, 2)} µs per pair (50 concurrent, real Redis)`)
