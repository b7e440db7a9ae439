/**
 * The slow-handler workload: synchronous vs queue mode with a handler that awaits 50 ms, under an
 * open-loop load at a fixed arrival rate (bench/lib/paced.ts), 30% of deliveries repeating a callback
 * sent a few milliseconds earlier (while its first delivery is still being handled).
 *
 * Per mode: answers per second, latency of the answer (p50, p99, max), status counts, how many times the
 * handler ran against the distinct callbacks (exactly once), how long after its first delivery each
 * callback's handler had run, and the time from the last request until every callback's handler had run.
 *
 * Every key it writes is known without a SCAN: the store keys derive from the bodies sent, the BullMQ
 * queue is obliterated, and what remains is checked with EXISTS.
 */
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { defaultIdempotencyKey } from '../../src/delivery/idempotency-key.js'
import { normalizeCallback } from '../../src/delivery/normalize.js'
import { encodeJobId } from '../../src/queue/job-id.js'
import type { CallbackBody } from '../../src/index.js'
import { runPaced, type PacedResult } from './paced.js'
import { fetchStats, startServer, stopServer, type ServerProcess } from './servers.js'
import { prng } from './workloads.js'

export type SlowMode = 'sync-instant' | 'sync' | 'queue' | 'queue-inprocess'

export const SLOW_MODES: ReadonlyArray<{ readonly mode: SlowMode, readonly code: string, readonly label: string, readonly instant?: true }> = [
  { mode: 'sync-instant', code: 'slowt', label: 'reference: synchronous, a handler that returns at once', instant: true },
  { mode: 'sync', code: 'slows', label: 'synchronous: the handler runs in the request' },
  { mode: 'queue', code: 'slowq', label: 'queue mode, worker in another process (receiver `concurrency: 0`, `createSuperaiWorker`)' },
  { mode: 'queue-inprocess', code: 'slowi', label: 'queue mode, worker in the receiver\'s process' }
]

export interface SlowHandlerSettings {
  /** Requests per second offered, open loop. */
  readonly rate: number
  /** Seconds of one measured round. */
  readonly seconds: number
  /** Rounds per mode, modes interleaved; rates and percentiles are the rounds' median. */
  readonly rounds: number
  /** Seconds of load before it, not measured (JIT, sockets, BullMQ's scripts). */
  readonly warmupSeconds: number
  /** Share of deliveries that repeat a recent callback. */
  readonly repeat: number
  /** A repeat picks one of this many most recent callbacks. */
  readonly recent: number
  /** The queue worker's concurrency (in its own process or in the receiver's). */
  readonly concurrency: number
  readonly handlerMs: number
  readonly modes: readonly SlowMode[]
  /** Longest wait for every handler after the load, ms. */
  readonly drainTimeoutMs: number
}

export const SLOW_HANDLER_DEFAULTS: SlowHandlerSettings = {
  rate: 300,
  seconds: 5,
  rounds: 3,
  warmupSeconds: 1,
  repeat: 0.3,
  recent: 5,
  concurrency: 50,
  handlerMs: 50,
  modes: SLOW_MODES.map((m) => m.mode),
  drainTimeoutMs: 30_000
}

export interface SlowHandlerRow {
  readonly mode: SlowMode
  readonly label: string
  readonly rate: number
  readonly sent: number
  readonly answered: number
  /** Answers per second. */
  readonly rps: number
  /** Latency of the answer, ms. */
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly status: Readonly<Record<string, number>>
  readonly conflicts: number
  readonly serverErrors: number
  /** Requests without an answer (connection error, timeout). */
  readonly errors: number
  /** The sender's lateness against its schedule, p99, ms. */
  readonly senderLagP99: number
  readonly distinct: number
  readonly handlerRuns: number
  /** Distinct callbacks whose handler ran more than once / never. */
  readonly runTwice: number
  readonly notRun: number
  /** From a callback's first delivery to the end of its handler, ms. */
  readonly handledAfterP50: number
  readonly handledAfterP99: number
  /** From the last request's write until every distinct callback's handler had run, ms. */
  readonly drainMs: number
  /** CPU time of the receiving process per answer, µs. */
  readonly receiverCpuPerRequest: number
  /** CPU time of the worker process per callback handled, µs (worker in another process only). */
  readonly workerCpuPerCallback?: number
  readonly rounds: ReadonlyArray<{ readonly rps: number, readonly p50: number, readonly p99: number, readonly max: number, readonly drainMs: number, readonly senderLagP99: number }>
}

export interface SlowHandlerReport {
  readonly settings: SlowHandlerSettings
  readonly rows: readonly SlowHandlerRow[]
}

interface SlowWorkload {
  next (): string
  /** Each distinct callback's uuid and when its first delivery left (ms since the epoch). */
  readonly firstSent: Map<string, number>
}

/** New callbacks; with probability `repeat` a delivery repeats one of the `recent` latest callbacks instead. */
function slowWorkload (seed: number, repeat: number, recent: number, bodies: string[]): SlowWorkload {
  const random = prng(seed)
  const firstSent = new Map<string, number>()
  const latest: string[] = []
  return {
    firstSent,
    next () {
      if (latest.length > 0 && random() < repeat) return latest[Math.floor(random() * latest.length)] ?? ''
      const uuid = randomUUID()
      const body = `{"id":"${bodies.length + 1}","uuid":"${uuid}","state":"COMPLETED","action":"RESOLVED"}`
      bodies.push(body)
      latest.push(body)
      if (latest.length > recent) latest.shift()
      // the system clock, as the servers' handler times (see bench/servers/common.ts)
      firstSent.set(uuid, Date.now())
      return body
    }
  }
}

function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] ?? Number.NaN
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Reads a process' handler runs incrementally (`/__bench/runs?from=`). */
class RunsReader {
  readonly runs: Array<[string, number]> = []
  constructor (private readonly port: number) {}
  async read (): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.port}/__bench/runs?from=${this.runs.length}`)
    const { runs } = await res.json() as { runs: Array<[string, number]> }
    this.runs.push(...runs)
  }

  /** Polls until every uuid in `expected` ran, or `timeoutMs` passed. */
  async waitFor (expected: ReadonlyMap<string, number>, timeoutMs: number): Promise<void> {
    const missing = new Set(expected.keys())
    let seen = 0
    const deadline = performance.now() + timeoutMs
    for (;;) {
      await this.read()
      for (; seen < this.runs.length; seen++) missing.delete(this.runs[seen]?.[0] ?? '')
      if (missing.size === 0 || performance.now() > deadline) return
      await sleep(25)
    }
  }
}

/** Deletes every key the workload could have written under `prefix` (no SCAN); resolves to how many remain. */
async function cleanUp (redis: Redis, prefix: string, bodies: readonly string[], queued: boolean): Promise<number> {
  const storeKeys = bodies.map((body) => prefix + defaultIdempotencyKey(normalizeCallback(JSON.parse(body) as CallbackBody).event))
  const queueBase = `${prefix}bull:bench:`
  if (queued) {
    const queue = new Queue('bench', { connection: redis, prefix: `${prefix}bull` })
    await queue.obliterate({ force: true })
    await queue.close()
  }
  const keys = [
    ...storeKeys,
    ...storeKeys.map((key) => `${key}:run`),
    ...(queued
      ? [
          ...storeKeys.map((key) => queueBase + encodeJobId(key)),
          ...['id', 'meta', 'events', 'wait', 'active', 'completed', 'failed', 'delayed', 'paused', 'prioritized', 'pc', 'marker', 'stalled-check', 'stalled', 'limiter'].map((name) => queueBase + name)
        ]
      : [])
  ]
  for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000))
  let left = 0
  for (let i = 0; i < keys.length; i += 1000) left += await redis.exists(...keys.slice(i, i + 1000))
  return left
}

interface ModeProcesses {
  readonly mode: typeof SLOW_MODES[number]
  readonly prefix: string
  readonly receiver: ServerProcess
  readonly worker: ServerProcess | undefined
  readonly reader: RunsReader
}

/** One measured round of one mode: what the sender saw, and every handler run of its callbacks. */
type Round = Pick<SlowHandlerRow, 'distinct' | 'handlerRuns' | 'runTwice' | 'notRun' | 'handledAfterP50' | 'handledAfterP99' | 'drainMs'> & {
  readonly load: PacedResult
  readonly receiverCpuMicros: number
  readonly workerCpuMicros: number
}

async function runRound (p: ModeProcesses, workload: SlowWorkload, settings: SlowHandlerSettings, seconds: number): Promise<Round> {
  await p.reader.read()
  const offset = p.reader.runs.length
  const receiverBefore = await fetchStats(p.receiver.port)
  const workerBefore = p.worker === undefined ? undefined : await fetchStats(p.worker.port)
  const load = await runPaced({ port: p.receiver.port, rate: settings.rate, seconds, next: () => workload.next() })
  await p.reader.waitFor(workload.firstSent, settings.drainTimeoutMs)
  const receiverAfter = await fetchStats(p.receiver.port)
  const workerAfter = p.worker === undefined ? undefined : await fetchStats(p.worker.port)

  const runsOf = new Map<string, number[]>()
  for (const [uuid, at] of p.reader.runs.slice(offset)) {
    if (!workload.firstSent.has(uuid)) continue
    const list = runsOf.get(uuid) ?? []
    list.push(at)
    runsOf.set(uuid, list)
  }
  const handledAfter: number[] = []
  let lastRun = Number.NaN
  let runTwice = 0
  let handlerRuns = 0
  for (const [uuid, sentAt] of workload.firstSent) {
    const runs = runsOf.get(uuid)
    if (runs === undefined) continue
    handlerRuns += runs.length
    if (runs.length > 1) runTwice++
    const first = Math.min(...runs)
    handledAfter.push(first - sentAt)
    lastRun = Number.isNaN(lastRun) ? first : Math.max(lastRun, first)
  }
  const notRun = workload.firstSent.size - runsOf.size
  return {
    load,
    distinct: workload.firstSent.size,
    handlerRuns,
    runTwice,
    notRun,
    handledAfterP50: percentile(handledAfter, 50),
    handledAfterP99: percentile(handledAfter, 99),
    // 0 when every handler had run before the last request left (it repeated an earlier callback)
    drainMs: notRun > 0 ? Number.NaN : Math.max(0, lastRun - load.lastSentAt),
    receiverCpuMicros: receiverAfter.cpuMicros - receiverBefore.cpuMicros,
    workerCpuMicros: workerAfter === undefined || workerBefore === undefined ? 0 : workerAfter.cpuMicros - workerBefore.cpuMicros
  }
}

const median = (values: readonly number[]): number => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] ?? Number.NaN : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)

/** Rounds combined: counts add up; rates, percentiles and the drain time are the rounds' median. */
function combine (p: ModeProcesses, settings: SlowHandlerSettings, rounds: readonly Round[]): SlowHandlerRow {
  const status: Record<string, number> = {}
  for (const round of rounds) for (const [code, n] of Object.entries(round.load.status)) status[code] = (status[code] ?? 0) + n
  const answered = sum(rounds.map((r) => r.load.answered))
  const handlerRuns = sum(rounds.map((r) => r.handlerRuns))
  const notRun = sum(rounds.map((r) => r.notRun))
  return {
    mode: p.mode.mode,
    label: p.mode.label,
    rate: settings.rate,
    sent: sum(rounds.map((r) => r.load.sent)),
    answered,
    rps: median(rounds.map((r) => r.load.rps)),
    p50: median(rounds.map((r) => r.load.p50)),
    p99: median(rounds.map((r) => r.load.p99)),
    max: Math.max(...rounds.map((r) => r.load.max)),
    status,
    conflicts: status['409'] ?? 0,
    serverErrors: sum(Object.entries(status).filter(([code]) => code.startsWith('5')).map(([, n]) => n)),
    errors: sum(rounds.map((r) => r.load.errors)),
    senderLagP99: Math.max(...rounds.map((r) => r.load.lagP99)),
    distinct: sum(rounds.map((r) => r.distinct)),
    handlerRuns,
    runTwice: sum(rounds.map((r) => r.runTwice)),
    notRun,
    handledAfterP50: median(rounds.map((r) => r.handledAfterP50)),
    handledAfterP99: median(rounds.map((r) => r.handledAfterP99)),
    drainMs: notRun > 0 ? Number.NaN : median(rounds.map((r) => r.drainMs)),
    receiverCpuPerRequest: sum(rounds.map((r) => r.receiverCpuMicros)) / Math.max(1, answered),
    ...(p.worker === undefined ? {} : { workerCpuPerCallback: sum(rounds.map((r) => r.workerCpuMicros)) / Math.max(1, handlerRuns) }),
    rounds: rounds.map((r) => ({ rps: r.load.rps, p50: r.load.p50, p99: r.load.p99, max: r.load.max, drainMs: r.drainMs, senderLagP99: r.load.lagP99 }))
  }
}

/**
 * Starts every mode's processes (each with its own key prefix and queue), warms each up, then runs
 * `rounds` rounds with the modes in a rotated order (one mode loaded at a time, the others idle), so that
 * a burst of other work on a shared machine does not land on one mode only.
 */
export async function benchSlowHandler (redis: Redis, redisUrl: string, runPrefix: string, settings: SlowHandlerSettings,
  log: (message: string) => void = () => {}): Promise<SlowHandlerReport> {
  const modes = SLOW_MODES.filter((m) => settings.modes.includes(m.mode))
  const started: ModeProcesses[] = []
  const processes: ServerProcess[] = []
  const start = async (name: string, env: Record<string, string>): Promise<ServerProcess> => {
    const server = await startServer(name, { env })
    processes.push(server)
    return server
  }
  const bodies = new Map<string, string[]>()
  try {
    await Promise.all(modes.map(async (mode) => {
      const prefix = `${runPrefix}${mode.code}:`
      bodies.set(prefix, [])
      const env = {
        BENCH_PREFIX: prefix,
        BENCH_REDIS_URL: redisUrl,
        BENCH_MODE: mode.mode === 'sync-instant' ? 'sync' : mode.mode,
        BENCH_HANDLER_MS: String(mode.instant === true ? 0 : settings.handlerMs),
        BENCH_QUEUE: 'bench',
        BENCH_CONCURRENCY: String(settings.concurrency)
      }
      const [receiver, worker] = await Promise.all([
        start('slow-handler', env),
        mode.mode === 'queue' ? start('slow-worker', env) : Promise.resolve(undefined)
      ])
      started.push({ mode, prefix, receiver, worker, reader: new RunsReader((worker ?? receiver).port) })
    }))
    started.sort((a, b) => modes.indexOf(a.mode) - modes.indexOf(b.mode))
    const bodiesOf = (p: ModeProcesses): string[] => bodies.get(p.prefix) ?? []
    for (const p of started) {
      const warmup = slowWorkload(7, settings.repeat, settings.recent, bodiesOf(p))
      await runPaced({ port: p.receiver.port, rate: settings.rate, seconds: settings.warmupSeconds, next: () => warmup.next() })
      await p.reader.waitFor(warmup.firstSent, settings.drainTimeoutMs)
    }
    const rounds = new Map<SlowMode, Round[]>()
    for (let r = 0; r < settings.rounds; r++) {
      for (let i = 0; i < started.length; i++) {
        const p = started[(i + r) % started.length]
        if (p === undefined) continue
        const round = await runRound(p, slowWorkload(42 + r, settings.repeat, settings.recent, bodiesOf(p)), settings, settings.seconds)
        const list = rounds.get(p.mode.mode) ?? []
        list.push(round)
        rounds.set(p.mode.mode, list)
        const { load } = round
        log(`  slow-handler r${r + 1} ${p.mode.mode.padEnd(15)} ${load.rps.toFixed(0).padStart(4)} answers/s  p50 ${load.p50.toFixed(2)} ms  p99 ${load.p99.toFixed(2)} ms  max ${load.max.toFixed(1)} ms  ` +
          `${Object.entries(load.status).map(([code, n]) => `${n}×${code}`).join(' ')}${load.errors > 0 ? ` ${load.errors} errors` : ''}  handler ${round.handlerRuns}/${round.distinct}  ` +
          `handled after p99 ${round.handledAfterP99.toFixed(0)} ms  all run ${round.drainMs.toFixed(0)} ms after the last request  sender lag p99 ${load.lagP99.toFixed(2)} ms`)
      }
    }
    return { settings, rows: started.map((p) => combine(p, settings, rounds.get(p.mode.mode) ?? [])) }
  } finally {
    // every process gone before its keys are deleted, so that none writes after
    await Promise.allSettled(processes.map(async (server) => { await stopServer(server) }))
    for (const mode of modes) {
      const prefix = `${runPrefix}${mode.code}:`
      const left = await cleanUp(redis, prefix, bodies.get(prefix) ?? [], mode.mode === 'queue' || mode.mode === 'queue-inprocess')
      if (left > 0) log(`bench: slow-handler ${mode.mode}: ${left} keys under ${prefix} could not be deleted`)
    }
  }
}

/** What must hold in any run, quick or full: every distinct callback's handler ran, once, and every request was answered without a 5xx. */
export function slowHandlerFailures (report: SlowHandlerReport): string[] {
  const failures: string[] = []
  for (const row of report.rows) {
    if (row.notRun > 0) failures.push(`${row.mode}: ${row.notRun} of ${row.distinct} callbacks never had their handler run`)
    if (row.runTwice > 0) failures.push(`${row.mode}: ${row.runTwice} callbacks had their handler run more than once`)
    if (row.errors > 0 || row.serverErrors > 0) failures.push(`${row.mode}: ${row.errors} unanswered requests, ${row.serverErrors} × 5xx`)
  }
  return failures
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a'
const ms = (value: number): string => Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : 'n/a'

export function renderSlowHandler (report: SlowHandlerReport): string {
  const s = report.settings
  const lines = [
    `**(d) a handler that awaits ${s.handlerMs} ms: synchronous vs queue mode** (open loop: ${fmt(s.rate)} requests/s, ${s.rounds} round${s.rounds === 1 ? '' : 's'} of ${s.seconds} s per mode after ${s.warmupSeconds} s of warm-up, modes interleaved, median of the rounds; ` +
      `${Math.round(s.repeat * 100)}% of them repeating one of the ${s.recent} latest callbacks, i.e. a few ms after its first delivery; queue workers' concurrency ${s.concurrency})`,
    '',
    '| mode | answers/s | p50 ms | p99 ms | max ms | 202 / 200 | 409 | 5xx + unanswered | handler runs / distinct | handler done after first delivery, p50 / p99 ms | all handlers run, ms after the last request | receiver CPU µs/answer | worker CPU µs/callback |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const row of report.rows) {
    const twice = row.runTwice > 0 ? ` ⚠ ${row.runTwice} twice` : ''
    const never = row.notRun > 0 ? ` ⚠ ${row.notRun} never` : ''
    lines.push(`| ${row.label} | ${fmt(row.rps)} | ${ms(row.p50)} | ${ms(row.p99)} | ${ms(row.max)} | ${fmt(row.status['202'] ?? 0)} / ${fmt(row.status['200'] ?? 0)} | ${fmt(row.conflicts)} | ` +
      `${fmt(row.serverErrors + row.errors)} | ${fmt(row.handlerRuns)} / ${fmt(row.distinct)}${twice}${never} | ${ms(row.handledAfterP50)} / ${ms(row.handledAfterP99)} | ${ms(row.drainMs)} | ` +
      `${fmt(row.receiverCpuPerRequest)} | ${row.workerCpuPerCallback === undefined ? '–' : fmt(row.workerCpuPerCallback)} |`)
  }
  const lag = Math.max(...report.rows.map((r) => r.senderLagP99))
  lines.push('')
  lines.push(`Latency is from the write of a request to the end of its answer; the sender kept to its schedule within ${ms(lag)} ms (p99 of its lateness, worst mode).`)
  lines.push('')
  return `${lines.join('\n')}\n`
}
