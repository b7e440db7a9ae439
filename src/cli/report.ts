import type { DeliveryResult } from './deliver.js'

/**
 * Counts what the receiver answered, per request and per distinct callback, and renders the summary
 * (a table for people, an object for `--json`). One tally serves `send`, `check-url --probe` and `simulate`.
 */

export interface Summary {
  /** Distinct callbacks (different bodies). */
  readonly callbacks: number
  /** Deliveries made: every time a callback was sent, as at-least-once delivery does. */
  readonly deliveries: number
  /** HTTP requests, retries after 409/429/5xx included. */
  readonly requests: number
  /** Deliveries answered 200 `duplicate: false`: the handlers ran before the answer. */
  readonly processed: number
  /** Deliveries answered 202 `queued: true`: a queue-mode receiver stored the callback for its workers. */
  readonly queued: number
  /** Deliveries answered 200 `duplicate: true`. */
  readonly duplicates: number
  /** Deliveries answered with another 2xx. */
  readonly accepted: number
  /** Deliveries with no 2xx after the retries, or a final 4xx. */
  readonly failed: number
  /** Answers 409 (in flight elsewhere), each followed by a retry. */
  readonly inFlight409: number
  /** Retries made after a 409, 429, 5xx or network error. */
  readonly retries: number
  /** Every answer other than a 2xx, by status (`0`: no answer), retries included. */
  readonly errorsByStatus: Readonly<Record<string, number>>
  /** Distinct callbacks the receiver took as new (processed or queued) more than once: idempotency broken. */
  readonly processedMoreThanOnce: number
  /** Distinct callbacks never taken as new, only reported as duplicates (the receiver knew them already, e.g. a rerun seed). */
  readonly alreadyKnown: number
  readonly latencyMs: { readonly p50: number, readonly p95: number, readonly p99: number, readonly max: number }
  readonly elapsedMs: number
}

export class Tally {
  /** Deliveries each callback was taken as new (processed or queued). */
  readonly #newPerCallback = new Map<number, number>()
  readonly #successPerCallback = new Map<number, number>()
  readonly #latencies: number[] = []
  readonly #errorsByStatus = new Map<number, number>()
  readonly #started = performance.now()
  #deliveries = 0
  #requests = 0
  #processed = 0
  #queued = 0
  #duplicates = 0
  #accepted = 0
  #failed = 0
  #inFlight = 0
  #retries = 0

  constructor (readonly callbacks: number) {}

  record (callback: number, result: DeliveryResult): void {
    this.#deliveries++
    this.#requests += result.attempts.length
    this.#retries += result.attempts.length - 1
    for (const attempt of result.attempts) {
      this.#latencies.push(attempt.latencyMs)
      if (attempt.status === 409) this.#inFlight++
      if (attempt.status < 200 || attempt.status >= 300) this.#errorsByStatus.set(attempt.status, (this.#errorsByStatus.get(attempt.status) ?? 0) + 1)
    }
    switch (result.outcome) {
      case 'processed': this.#processed++; this.#takenAsNew(callback); break
      case 'queued': this.#queued++; this.#takenAsNew(callback); break
      case 'duplicate': this.#duplicates++; break
      case 'accepted': this.#accepted++; break
      case 'failed': this.#failed++; return
    }
    this.#successPerCallback.set(callback, (this.#successPerCallback.get(callback) ?? 0) + 1)
  }

  #takenAsNew (callback: number): void {
    this.#newPerCallback.set(callback, (this.#newPerCallback.get(callback) ?? 0) + 1)
  }

  summary (): Summary {
    const sorted = [...this.#latencies].sort((a, b) => a - b)
    let processedMoreThanOnce = 0
    for (const count of this.#newPerCallback.values()) if (count > 1) processedMoreThanOnce++
    let alreadyKnown = 0
    for (const callback of this.#successPerCallback.keys()) if (!this.#newPerCallback.has(callback)) alreadyKnown++
    return {
      callbacks: this.callbacks,
      deliveries: this.#deliveries,
      requests: this.#requests,
      processed: this.#processed,
      queued: this.#queued,
      duplicates: this.#duplicates,
      accepted: this.#accepted,
      failed: this.#failed,
      inFlight409: this.#inFlight,
      retries: this.#retries,
      errorsByStatus: Object.fromEntries([...this.#errorsByStatus].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n])),
      processedMoreThanOnce,
      alreadyKnown,
      latencyMs: {
        p50: round(percentile(sorted, 50)),
        p95: round(percentile(sorted, 95)),
        p99: round(percentile(sorted, 99)),
        max: round(sorted[sorted.length - 1] ?? 0)
      },
      elapsedMs: Math.round(performance.now() - this.#started)
    }
  }
}

/** Nearest-rank percentile of ascending values; 0 for none. */
export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0
}

const round = (value: number): number => Math.round(value * 100) / 100

/** Whether the run went as the receiver promises: nothing lost, nothing processed twice. */
export const succeeded = (summary: Summary): boolean => summary.failed === 0 && summary.processedMoreThanOnce === 0

/** The summary as a two-column table. */
export function renderSummary (summary: Summary, title: string): string {
  const errors = Object.entries(summary.errorsByStatus)
    .map(([status, n]) => `${status === '0' ? 'no answer' : status}: ${n}`)
    .join(', ')
  const seconds = summary.elapsedMs / 1000
  const rows: Array<[string, string]> = [
    ['callbacks (distinct)', String(summary.callbacks)],
    ['deliveries', String(summary.deliveries)],
    ['requests sent', `${summary.requests} (${summary.retries} retries)`],
    ['processed', String(summary.processed)],
    ...(summary.queued > 0 ? [['queued', String(summary.queued)] as [string, string]] : []),
    ['duplicates reported', String(summary.duplicates)],
    ...(summary.accepted > 0 ? [['accepted (other 2xx)', String(summary.accepted)] as [string, string]] : []),
    ['409 in flight', String(summary.inFlight409)],
    ['errors by status', errors === '' ? 'none' : errors],
    ['failed deliveries', String(summary.failed)],
    ['processed twice', String(summary.processedMoreThanOnce)],
    ...(summary.alreadyKnown > 0 ? [['already known', String(summary.alreadyKnown)] as [string, string]] : []),
    ['latency p50/p95/p99', `${summary.latencyMs.p50} / ${summary.latencyMs.p95} / ${summary.latencyMs.p99} ms (max ${summary.latencyMs.max})`],
    ['elapsed', `${seconds.toFixed(2)} s (${seconds > 0 ? Math.round(summary.requests / seconds) : summary.requests} req/s)`]
  ]
  return table(title, rows)
}

export function table (title: string, rows: ReadonlyArray<readonly [string, string]>): string {
  const left = Math.max(...rows.map(([label]) => label.length))
  const right = Math.max(title.length - left - 3, ...rows.map(([, value]) => value.length))
  const line = (l: string, m: string, r: string): string => `${l}${'─'.repeat(left + 2)}${m}${'─'.repeat(right + 2)}${r}`
  return [
    line('┌', '─', '┐'),
    `│ ${title.padEnd(left + right + 3)} │`,
    line('├', '┬', '┤'),
    ...rows.map(([label, value]) => `│ ${label.padEnd(left)} │ ${value.padEnd(right)} │`),
    line('└', '┴', '┘')
  ].join('\n') + '\n'
}
