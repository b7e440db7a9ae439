/**
 * Workload (e), queue mode draining: the harness fills a paused queue with N distinct callbacks, the way each
 * contender's receiver stores them, resumes it, and times the worker process until its handler ran N times.
 * Rounds alternate the contenders. Reported: jobs per second, the worker's CPU per job, Redis' CPU per job,
 * handler runs against jobs (exactly once).
 */
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { defaultIdempotencyKey } from '../../src/delivery/idempotency-key.js'
import { normalizeCallback } from '../../src/delivery/normalize.js'
import { resolveQueueOptions } from '../../src/queue/options.js'
import { enqueueTo } from '../../src/queue/handoff.js'
import type { CallbackBody } from '../../src/index.js'
import { DEFAULTS } from '../../src/options.js'
import type { FastifyBaseLogger } from 'fastify'
import { deleteKeys, redisCpu } from './redis.js'
import { fetchStats, startServer, stopServer, type ServerProcess } from './servers.js'
import { uniqueBody } from './workloads.js'

export interface DrainContender {
  readonly name: string
  /** Five characters, as the other contenders' (prefix length). */
  readonly code: string
  readonly label: string
  /** The plugin's worker (jobs as its receiver stores them), or raw BullMQ (the body, a job id). */
  readonly plugin: boolean
  /** The server script under bench/servers/ (default: `name`). */
  readonly server?: string
}

export interface DrainSettings {
  /** Jobs per round. */
  readonly jobs: number
  readonly rounds: number
  /** Jobs of the one warm-up drain per worker. */
  readonly warmupJobs: number
  readonly concurrency: number
}

export interface DrainRow {
  readonly contender: string
  readonly label: string
  /** Jobs per second, the median of the rounds. */
  readonly jobsPerSecond: number
  readonly jobs: number
  readonly handlerRuns: number
  /** CPU time of the worker process per job, µs. */
  readonly workerCpuPerJob: number
  /** Redis' CPU time per job, µs (the whole Redis). */
  readonly redisCpuPerJob: number
  readonly rounds: readonly number[]
}

const QUEUE = 'bench'
const noop = (): void => {}
const silent = { info: noop, warn: noop, error: noop, debug: noop, trace: noop, fatal: noop, child: () => silent } as unknown as FastifyBaseLogger

/** Adds `count` distinct callbacks to the (paused) queue as this contender's receiver would. */
export async function fillQueue (queue: Queue, contender: DrainContender, prefix: string, count: number): Promise<void> {
  const bodies = Array.from({ length: count }, () => JSON.parse(uniqueBody()) as CallbackBody)
  if (!contender.plugin) {
    for (let i = 0; i < bodies.length; i += 1000) {
      await queue.addBulk(bodies.slice(i, i + 1000).map((body) => ({ name: 'callback', data: body, opts: { jobId: `${body.uuid}.${body.id}` } })))
    }
    return
  }
  // the plugin's own hand-off: the job name, data and options its receiver writes
  const options = resolveQueueOptions({ name: QUEUE, prefix: `${prefix}bull` })
  if (options === undefined) throw new Error('queue options')
  const enqueue = enqueueTo(queue, options, DEFAULTS.ttl * 1000)
  for (let i = 0; i < bodies.length; i += 500) {
    await Promise.all(bodies.slice(i, i + 500).map(async (body) => {
      const { event } = normalizeCallback(body)
      await enqueue({ event, key: prefix + defaultIdempotencyKey(event), log: silent })
    }))
  }
}

interface Wait { readonly done: boolean, readonly handled: number, readonly cpuMicros: number, readonly at: number }

async function drainOnce (redis: Redis, server: ServerProcess, queue: Queue, contender: DrainContender, prefix: string, jobs: number): Promise<{ ms: number, runs: number, cpu: number, redisCpu: number }> {
  await queue.pause()
  await fillQueue(queue, contender, prefix, jobs)
  const before = await fetchStats(server.port)
  const redisBefore = await redisCpu(redis)
  const waiting = fetch(`http://127.0.0.1:${server.port}/__bench/wait?handled=${before.handled + jobs}&timeoutMs=120000`).then(async (res) => await res.json() as Wait)
  // the wait is registered before the queue resumes
  await new Promise((resolve) => setTimeout(resolve, 20))
  // the system clock, as the worker's `at` (see bench/servers/common.ts)
  const startedAt = Date.now()
  await queue.resume()
  const end = await waiting
  const redisAfter = await redisCpu(redis)
  if (!end.done) throw new Error(`drain ${contender.name}: ${end.handled - before.handled} of ${jobs} jobs handled within 120 s`)
  // a moment for any job run twice to show
  await new Promise((resolve) => setTimeout(resolve, 100))
  const after = await fetchStats(server.port)
  return { ms: end.at - startedAt, runs: after.handled - before.handled, cpu: end.cpuMicros - before.cpuMicros, redisCpu: redisAfter - redisBefore }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] ?? Number.NaN : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Each round: starts each worker in a fresh process of its own and warms it up, then measures them in a rotated order; deletes their keys after each. */
export async function benchDrain (redis: Redis, redisUrl: string, runPrefix: string, contenders: readonly DrainContender[], settings: DrainSettings,
  log: (message: string) => void = () => {}, nodeFlags: (name: string) => string[] = () => []): Promise<DrainRow[]> {
  const started: Array<{ contender: DrainContender, prefix: string, server?: ServerProcess, queue: Queue }> = []
  const stopWorkers = async (): Promise<void> => {
    await Promise.allSettled(started.map(async (s) => {
      const server = s.server
      s.server = undefined
      if (server !== undefined) await stopServer(server)
    }))
  }
  try {
    for (const contender of contenders) {
      const prefix = `${runPrefix}${contender.code}:`
      started.push({ contender, prefix, queue: new Queue(QUEUE, { connection: redis, prefix: `${prefix}bull` }) })
    }
    const acc = new Map<string, { ms: number[], jobs: number, runs: number, cpu: number, redisCpu: number }>()
    for (let round = 0; round < settings.rounds; round++) {
      // a fresh worker process per contender each round, warmed up: the median spans processes, as in (a)-(c)
      for (const s of started) {
        s.server = await startServer(s.contender.server ?? s.contender.name, {
          env: { BENCH_PREFIX: s.prefix, BENCH_REDIS_URL: redisUrl, BENCH_QUEUE: QUEUE, BENCH_CONCURRENCY: String(settings.concurrency) },
          nodeFlags: nodeFlags(s.contender.name)
        })
        await drainOnce(redis, s.server, s.queue, s.contender, s.prefix, settings.warmupJobs)
        await deleteKeys(redis, s.prefix)
      }
      for (let i = 0; i < started.length; i++) {
        const s = started[(i + round) % started.length]
        if (s?.server === undefined) continue
        const r = await drainOnce(redis, s.server, s.queue, s.contender, s.prefix, settings.jobs)
        await deleteKeys(redis, s.prefix)
        const a = acc.get(s.contender.name) ?? { ms: [], jobs: 0, runs: 0, cpu: 0, redisCpu: 0 }
        acc.set(s.contender.name, a)
        a.ms.push(r.ms)
        a.jobs += settings.jobs
        a.runs += r.runs
        a.cpu += r.cpu
        a.redisCpu += r.redisCpu
        log(`  drain        r${round + 1} ${s.contender.name.padEnd(17)} ${(settings.jobs / r.ms * 1000).toFixed(0).padStart(7)} jobs/s  cpu ${(r.cpu / settings.jobs).toFixed(0)} µs/job  redis ${(r.redisCpu / settings.jobs).toFixed(0)} µs/job  handler ${r.runs}/${settings.jobs}`)
      }
      await stopWorkers()
    }
    return started.flatMap(({ contender }) => {
      const a = acc.get(contender.name)
      if (a === undefined) return []
      return [{
        contender: contender.name,
        label: contender.label,
        jobsPerSecond: median(a.ms.map((ms) => settings.jobs / ms * 1000)),
        jobs: a.jobs,
        handlerRuns: a.runs,
        workerCpuPerJob: a.cpu / Math.max(1, a.jobs),
        redisCpuPerJob: a.redisCpu / Math.max(1, a.jobs),
        rounds: a.ms.map((ms) => settings.jobs / ms * 1000)
      }]
    })
  } finally {
    await stopWorkers()
    for (const { queue, prefix } of started) {
      await queue.close().catch(() => {})
      await deleteKeys(redis, prefix)
    }
  }
}
