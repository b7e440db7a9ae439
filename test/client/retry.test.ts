import t from 'tap'
import { backoffDelay, isNotProcessed, isRetryableDelivery, isRetryableStatus, parseRetryAfter, retrying } from '../../src/client/retry.js'

t.test('Retry-After in seconds or as an HTTP date, in milliseconds', async (t) => {
  const now = Date.parse('2025-01-01T00:00:00Z')
  t.equal(parseRetryAfter('3', now), 3000)
  t.equal(parseRetryAfter(' 0 ', now), 0)
  t.equal(parseRetryAfter('0.25', now), 250)
  t.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000)
  t.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now), 0, 'a date in the past means now')
  for (const value of [null, undefined, '', 'soon', '-1']) t.equal(parseRetryAfter(value, now), undefined, String(value))
})

t.test('backoff doubles per attempt, keeps at least half, and is capped', async (t) => {
  t.equal(backoffDelay(1, 100, 10_000, () => 0), 50)
  t.equal(backoffDelay(1, 100, 10_000, () => 1), 100)
  t.equal(backoffDelay(3, 100, 10_000, () => 1), 400)
  t.equal(backoffDelay(20, 100, 1000, () => 1), 1000)
  for (let attempt = 1; attempt < 10; attempt++) {
    const delay = backoffDelay(attempt, 100, 5000)
    const ceiling = Math.min(5000, 100 * 2 ** (attempt - 1))
    t.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay}`)
  }
})

t.test('only 429 and 5xx are worth retrying', async (t) => {
  for (const status of [429, 500, 502, 503, 504, 599]) t.equal(isRetryableStatus(status), true, String(status))
  for (const status of [200, 400, 401, 404, 409, 413, 600]) t.equal(isRetryableStatus(status), false, String(status))
})

t.test('retrying: stops when not retryable or out of retries, honours Retry-After, gives up or shortens a long one', async (t) => {
  const schedule = { retries: 2, baseDelay: 1, maxDelay: 50, longRetryAfter: 'give-up' } as const
  let calls = 0
  t.same(await retrying(async () => ({ result: ++calls, retryable: true }), schedule), { result: 3, attempts: 3, interrupted: false })
  t.same(await retrying(async (n) => ({ result: n, retryable: n < 2 }), schedule), { result: 2, attempts: 2, interrupted: false })
  t.same(await retrying(async (n) => ({ result: n, retryable: true, retryAfter: 60_000 }), schedule), { result: 1, attempts: 1, interrupted: false }, 'a Retry-After past maxDelay ends the retries')
  const started = Date.now()
  t.same(await retrying(async (n) => ({ result: n, retryable: true, retryAfter: 60_000 }), { ...schedule, longRetryAfter: 'shorten' }),
    { result: 3, attempts: 3, interrupted: false }, 'or is shortened to maxDelay')
  t.ok(Date.now() - started < 5000)
  const controller = new AbortController()
  setTimeout(() => { controller.abort() }, 20)
  t.same(await retrying(async (n) => ({ result: n, retryable: true, retryAfter: 10_000 }), { ...schedule, maxDelay: 20_000, signal: controller.signal }),
    { result: 1, attempts: 1, interrupted: true }, 'an abort cuts the wait short')
  t.ok(isRetryableDelivery(409) && isRetryableDelivery(0) && !isRetryableDelivery(400))
  t.ok(isNotProcessed(503) && !isNotProcessed(500))
})
