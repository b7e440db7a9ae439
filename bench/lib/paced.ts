/**
 * Open-loop load: requests leave at a fixed arrival rate whatever the answers do (autocannon's closed loop
 * sends the next request only when an answer came back, so a slow server is offered less load and its
 * latency looks better than a sender would see). node:http with a keep-alive agent, one socket per request
 * in flight; latency is from the request's write to the end of its answer.
 */
import { Agent, request } from 'node:http'
import { CALLBACK_PATH } from './load.js'

export interface PacedOptions {
  readonly port: number
  /** Requests per second, evenly spaced. */
  readonly rate: number
  readonly seconds: number
  /** The body of the i-th request. */
  readonly next: (index: number) => string
  readonly timeoutMs?: number
}

export interface PacedResult {
  readonly sent: number
  readonly answered: number
  /** From the first request's departure to the last answer, seconds. */
  readonly seconds: number
  /** Answers per second over the sending window (the offered rate when the server keeps up). */
  readonly rps: number
  /** Milliseconds from the write of a request to the end of its answer. */
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly status: Readonly<Record<string, number>>
  /** Requests that got no answer (connection error or timeout). */
  readonly errors: number
  /** How late the sender wrote a request against its schedule, p99, ms: large values mean the sender, not the server, set the pace. */
  readonly lagP99: number
  /** When the last request was written (ms since the epoch). */
  readonly lastSentAt: number
}

const now = (): number => performance.now()
/** A `performance.now()` instant on the system clock, which the other processes read too (see bench/servers/common.ts). */
const epoch = (t: number): number => Date.now() - (performance.now() - t)

function percentile (values: Float64Array, p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = values.slice().sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] ?? Number.NaN
}

export async function runPaced (options: PacedOptions): Promise<PacedResult> {
  const { port, rate, seconds, next, timeoutMs = 10_000 } = options
  const total = Math.max(1, Math.round(rate * seconds))
  const interval = 1000 / rate
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' })
  const latencies = new Float64Array(total)
  const lags = new Float64Array(total)
  const status: Record<string, number> = {}
  let answered = 0
  let errors = 0
  let settled = 0
  let lastSentAt = 0
  let lastAnswerAt = 0
  let allSettled!: () => void
  const done = new Promise<void>((resolve) => { allSettled = resolve })
  const settle = (): void => { if (++settled === total) allSettled() }
  const t0 = now()

  const send = (index: number, body: string): void => {
    const startedAt = now()
    lastSentAt = startedAt
    const req = request({
      host: '127.0.0.1',
      port,
      path: CALLBACK_PATH,
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, (res) => {
      res.resume()
      res.once('end', () => {
        const endedAt = now()
        latencies[answered++] = endedAt - startedAt
        lastAnswerAt = endedAt
        const code = String(res.statusCode ?? 0)
        status[code] = (status[code] ?? 0) + 1
        settle()
      })
    })
    req.setTimeout(timeoutMs, () => { req.destroy(new Error('timeout')) })
    req.once('error', () => { errors++; settle() })
    req.end(body)
    lags[index] = startedAt - (t0 + index * interval)
  }

  let index = 0
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      // every request whose time has come, then sleep until the next one's
      while (index < total && t0 + index * interval <= now()) { send(index, next(index)); index++ }
      if (index < total) setTimeout(tick, Math.max(0, t0 + index * interval - now()))
      else resolve()
    }
    tick()
  })
  await done
  agent.destroy()
  const measured = latencies.subarray(0, answered)
  const window = Math.max(lastSentAt, lastAnswerAt) - t0
  return {
    sent: total,
    answered,
    seconds: window / 1000,
    rps: answered / (Math.max(window, total * interval) / 1000),
    p50: percentile(measured, 50),
    p99: percentile(measured, 99),
    max: measured.reduce((a, b) => Math.max(a, b), 0),
    status,
    errors,
    lagP99: percentile(lags, 99),
    lastSentAt: epoch(lastSentAt)
  }
}
