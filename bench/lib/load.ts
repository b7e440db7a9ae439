/** One load run: autocannon as a library, over loopback, with bodies from a workload. */
import autocannon from 'autocannon'
import type { Workload } from './workloads.js'

export const CALLBACK_PATH = '/superai/callbacks/'

export interface LoadResult {
  readonly requests: number
  readonly seconds: number
  readonly rps: number
  /** Milliseconds, over every answered request (autocannon's own histogram keeps whole milliseconds only). */
  readonly p50: number
  readonly p99: number
  readonly mean: number
  readonly status: Readonly<Record<string, number>>
  readonly errors: number
  readonly timeouts: number
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[index] ?? Number.NaN
}

export async function runLoad (port: number, workload: Workload, seconds: number): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16)
  let count = 0
  let sum = 0
  let finish!: (err: unknown, result: autocannon.Result) => void
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (err, result) => { if (err === null || err === undefined) resolve(result); else reject(err instanceof Error ? err : new Error(String(err))) }
  })
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: workload.connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    // autocannon stops at the first sample tick after `duration`: tick often, so that a round lasts what it says
    sampleInt: 100,
    requests: [{
      method: 'POST',
      path: CALLBACK_PATH,
      headers: { 'content-type': 'application/json' },
      setupRequest: workload.nextRequest === undefined
        ? (request) => ({ ...request, body: workload.next() })
        : (request) => {
            const { body, headers } = (workload.nextRequest as NonNullable<Workload['nextRequest']>)()
            return { ...request, body, headers: { ...request.headers, ...headers } }
          }
    }]
  }, (err: unknown, result) => { finish(err, result) })
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[count++] = responseTime
    sum += responseTime
  })
  const result = await done
  const sorted = latencies.subarray(0, count).sort()
  const status: Record<string, number> = {}
  for (const [code, { count: n = 0 }] of Object.entries(result.statusCodeStats ?? {})) status[code] = n
  return {
    requests: count,
    seconds: result.duration,
    rps: count / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: count === 0 ? Number.NaN : sum / count,
    status,
    errors: result.errors,
    timeouts: result.timeouts
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] ?? Number.NaN : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export interface RoundSummary { readonly rps: number, readonly p50: number, readonly p99: number }

/**
 * Rounds of one contender and workload combined: request counts add up, req/s and percentiles are the
 * median of the rounds', so that one round hit by a neighbour's burst on a shared machine does not decide.
 */
export function combineRounds (rounds: readonly LoadResult[]): LoadResult & { readonly rounds: readonly RoundSummary[] } {
  const status: Record<string, number> = {}
  for (const round of rounds) for (const [code, n] of Object.entries(round.status)) status[code] = (status[code] ?? 0) + n
  const requests = rounds.reduce((a, r) => a + r.requests, 0)
  return {
    requests,
    seconds: rounds.reduce((a, r) => a + r.seconds, 0),
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    mean: rounds.reduce((a, r) => a + r.mean * r.requests, 0) / Math.max(1, requests),
    status,
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    timeouts: rounds.reduce((a, r) => a + r.timeouts, 0),
    rounds: rounds.map(({ rps, p50, p99 }) => ({ rps, p50, p99 }))
  }
}
