import type { KeyObject } from 'node:crypto'
import { readResponseBody } from '../client/response-body.js'
import { signCallback } from '../signature/sign.js'
import { isRetryableDelivery, parseRetryAfter, retrying } from '../client/retry.js'

/**
 * One callback delivery the way super.AI makes it: POST the JSON body, and when the receiver answers
 * 409 (in flight elsewhere), 429 or 5xx, or cannot be reached, try again later, a bounded number of times,
 * waiting what `Retry-After` asks for.
 */

export interface DeliveryPolicy {
  /** Extra attempts after a retryable answer. */
  readonly retries: number
  /** Longest wait before a retry in ms; a longer `Retry-After` is shortened to it. */
  readonly maxWait: number
  /** Base of the backoff when no `Retry-After` is sent, in ms. */
  readonly retryDelay: number
  /** Per-attempt timeout in ms. */
  readonly timeout: number
  /** Extra request headers (e.g. the receiver's auth token). */
  readonly headers: Readonly<Record<string, string>>
  /** Sign each body as super.AI does (`--sign-key`); unsigned without it. */
  readonly signKey?: KeyObject | undefined
}

export const DEFAULT_POLICY: DeliveryPolicy = Object.freeze({
  retries: 5, maxWait: 10_000, retryDelay: 200, timeout: 10_000, headers: Object.freeze({})
})

/** One HTTP request of a delivery. */
interface Attempt {
  /** The HTTP status; 0 when no answer came (network error, timeout). */
  readonly status: number
  readonly latencyMs: number
  /** The error `code` of a coded error body, or the network error's. */
  readonly code?: string
}

/**
 * `processed`: 200 `duplicate: false`; `queued`: 202 `queued: true` (a queue-mode receiver stored it for
 * its workers); `duplicate`: 200 `duplicate: true`; `accepted`: another 2xx; `failed`: no 2xx after the
 * retries, or a final 4xx.
 */
type SentOutcome = 'processed' | 'queued' | 'duplicate' | 'accepted' | 'failed'

export interface DeliveryResult {
  readonly outcome: SentOutcome
  /** The last attempt's status (0: no answer). */
  readonly status: number
  /** The last answer's body: JSON when it parses, else text. */
  readonly body: unknown
  readonly attempts: readonly Attempt[]
  /** Why the last attempt failed, for `failed` deliveries. */
  readonly error?: string
}

/** `signal` stops the retries (not a request in flight). */
export async function deliverCallback (
  url: string, body: unknown, policy: DeliveryPolicy, signal?: AbortSignal
): Promise<DeliveryResult> {
  // signed once: every retry carries the same bytes, as super.AI's retries do
  const { body: payload, headers } = policy.signKey === undefined
    ? { body: JSON.stringify(body), headers: {} }
    : signCallback(body as object, policy.signKey)
  const attempts: Attempt[] = []
  const { result: answer, interrupted } = await retrying(async () => {
    const started = performance.now()
    const answer = await post(url, payload, headers, policy)
    attempts.push({
      status: answer.status,
      latencyMs: performance.now() - started,
      ...(answer.code === undefined ? {} : { code: answer.code })
    })
    return { result: answer, retryable: isRetryableDelivery(answer.status), retryAfter: answer.retryAfter }
  }, { retries: policy.retries, baseDelay: policy.retryDelay, maxDelay: policy.maxWait, longRetryAfter: 'shorten', signal })

  if (answer.status >= 200 && answer.status < 300) {
    return { outcome: successOf(answer), status: answer.status, body: answer.body, attempts }
  }
  const error = interrupted ? 'interrupted' : answer.error ?? describeStatus(answer)
  return { outcome: 'failed', status: answer.status, body: answer.body, attempts, error }
}

/** What a 2xx says, by the plugin's documented answers; any other 2xx is only `accepted`. */
function successOf (answer: ReceiverAnswer): SentOutcome {
  const { duplicate, queued } = (answer.body ?? {}) as { duplicate?: unknown, queued?: unknown }
  if (answer.status === 202 && queued === true && duplicate !== true) return 'queued'
  if (answer.status === 200 && typeof duplicate === 'boolean') return duplicate ? 'duplicate' : 'processed'
  return 'accepted'
}

interface ReceiverAnswer {
  readonly status: number
  readonly body: unknown
  readonly retryAfter?: number
  readonly code?: string
  readonly error?: string
}

/** Not abortable by Ctrl-C: a request already sent is let finish (within the timeout) so that it is counted. */
async function post (url: string, payload: string, signed: Readonly<Record<string, string>>, policy: DeliveryPolicy): Promise<ReceiverAnswer> {
  const timeout = AbortSignal.timeout(policy.timeout)
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'superai-callbacks-cli', ...policy.headers, ...signed },
      body: payload,
      signal: timeout,
      redirect: 'manual'
    })
    const body = await readResponseBody(response)
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
    const code = (body as { code?: unknown } | undefined)?.code
    return {
      status: response.status,
      body,
      ...(retryAfter === undefined ? {} : { retryAfter }),
      ...(typeof code === 'string' ? { code } : {})
    }
  } catch (error) {
    const reason = timeout.aborted ? `no answer within ${policy.timeout} ms` : networkReason(error)
    return { status: 0, body: undefined, code: timeout.aborted ? 'TIMEOUT' : 'NETWORK', error: reason }
  }
}

/** fetch hides the useful part (ECONNREFUSED, ...) in `cause`. */
function networkReason (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause as { code?: unknown, message?: unknown } | undefined
  if (typeof cause?.code === 'string') return `${error.message} (${cause.code})`
  return typeof cause?.message === 'string' ? `${error.message}: ${cause.message}` : error.message
}

function describeStatus (answer: ReceiverAnswer): string {
  const message = (answer.body as { message?: unknown } | undefined)?.message
  const detail = typeof message === 'string' ? `: ${message}` : ''
  return `HTTP ${answer.status}${answer.code === undefined ? '' : ` ${answer.code}`}${detail}`
}
