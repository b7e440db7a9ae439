import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Retry timing shared by the API client and the CLI's deliveries: both honour `Retry-After` and back off
 * exponentially otherwise, so one place decides how long "later" is.
 */

/** HTTP statuses worth retrying: the request was not (or not fully) handled and may succeed later. */
export function isRetryableStatus (status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599)
}

/**
 * `Retry-After` in milliseconds: delta-seconds (`"2"`, `"0.5"`) or an HTTP date; undefined when absent or
 * unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter (value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined
  const trimmed = value.trim()
  if (trimmed === '') return undefined
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  // Date.parse reads '-1' as a year: only a value with a day or month name is an HTTP date.
  const date = /[a-z]/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Exponential backoff with jitter for retry number `attempt` (1-based): between half and all of
 * `base * 2^(attempt-1)`, capped at `max`. The jitter spreads retries of many senders apart.
 */
export function backoffDelay (attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random())
}

/** Statuses a callback sender retries: a receiver's 409 (in flight elsewhere) and no answer at all (0), besides 429 and 5xx. */
export function isRetryableDelivery (status: number): boolean {
  return status === 0 || status === 409 || isRetryableStatus(status)
}

/** Statuses that prove the request was not processed, so even a non-idempotent call may be repeated. */
export function isNotProcessed (status: number): boolean {
  return status === 429 || status === 503
}

interface RetrySchedule {
  /** Further attempts after the first. */
  readonly retries: number
  /** Base of the backoff when no `Retry-After` is given, in ms. */
  readonly baseDelay: number
  /** Longest wait, in ms. */
  readonly maxDelay: number
  /** A `Retry-After` longer than `maxDelay`: `'give-up'` ends the retries, `'shorten'` waits `maxDelay`. */
  readonly longRetryAfter: 'give-up' | 'shorten'
  /** Stops the retries (not an attempt under way). */
  readonly signal?: AbortSignal | undefined
}

/** What one attempt came to, and whether another is worth it. */
interface AttemptResult<T> {
  readonly result: T
  readonly retryable: boolean
  /** The `Retry-After` the answer asked for, in ms. */
  readonly retryAfter?: number | undefined
}

/**
 * The one retry loop of the client and the CLI: runs `attempt` (numbered from 1) until it is not
 * retryable, the retries are spent, or `signal` aborts; waits `Retry-After` or the backoff in between.
 * `interrupted` says that the signal cut a wait short.
 */
export async function retrying<T> (
  attempt: (n: number) => Promise<AttemptResult<T>>, schedule: RetrySchedule
): Promise<{ readonly result: T, readonly attempts: number, readonly interrupted: boolean }> {
  const { signal } = schedule
  for (let n = 1; ; n++) {
    const { result, retryable, retryAfter } = await attempt(n)
    const done = { result, attempts: n, interrupted: false }
    if (!retryable || n > schedule.retries || signal?.aborted === true) return done
    let wait = retryAfter ?? backoffDelay(n, schedule.baseDelay, schedule.maxDelay)
    if (wait > schedule.maxDelay) {
      // retrying sooner than asked only earns another refusal
      if (schedule.longRetryAfter === 'give-up') return done
      wait = schedule.maxDelay
    }
    try {
      await sleep(wait, undefined, signal === undefined ? {} : { signal })
    } catch {
      return { ...done, interrupted: true }
    }
  }
}
