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
