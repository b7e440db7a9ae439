import { setTimeout as sleep } from 'node:timers/promises'
import { parseRetryAfter, retrying } from '../client/retry.js'
import type { Random } from './prng.js'

/**
 * Callbacks the way super.AI sends them: a JSON POST, at least once (a share delivered again, some at the
 * same moment), retried after a non-2xx answer or none with a growing pause, dropped after a number of
 * tries. super.AI does not document for how long it retries: after the last try only the API still knows.
 */

/** One HTTP request of a delivery. */
export interface SandboxAttempt {
  /** The receiver's status; 0 when it did not answer. */
  readonly status: number
  readonly at: number
  /** The answer's body (at most 1000 characters), to see what the receiver said. */
  readonly answer?: string
  /** Why there was no answer. */
  readonly error?: string
}

/** `original`: the first delivery; `concurrent`: a copy sent at the same moment; `redelivery`: a copy sent after it. */
export type SandboxCopy = 'original' | 'concurrent' | 'redelivery'

export interface SandboxDelivery {
  /** A job callback, or a batch (v2) callback. */
  readonly kind: 'job' | 'batch'
  readonly url: string
  /** The callback as sent (`payload` is its exact text). */
  readonly body: Readonly<Record<string, unknown>>
  readonly payload: string
  readonly headers: Readonly<Record<string, string>>
  readonly copy: SandboxCopy
  readonly attempts: readonly SandboxAttempt[]
  /** `pending` while tried; `delivered`: a 2xx came; `dropped`: every try failed, or the sandbox closed first. */
  readonly outcome: 'pending' | 'delivered' | 'dropped'
}

interface MutableDelivery extends SandboxDelivery {
  attempts: SandboxAttempt[]
  outcome: SandboxDelivery['outcome']
}

/** Serialises a callback (and signs it, when asked): the exact text sent and its extra headers. */
export type Serialise = (body: Readonly<Record<string, unknown>>) => { readonly payload: string, readonly headers: Readonly<Record<string, string>> }

export interface SenderSettings {
  readonly duplicates: number
  readonly giveUpAfter: number
  readonly retryDelay: number
  readonly maxRetryDelay: number
  /** Pause before a `redelivery` copy, in ms. */
  readonly redeliveryDelay: number
  readonly serialise: Serialise
}

const ATTEMPT_TIMEOUT_MS = 10_000

export class CallbackSender {
  readonly deliveries: SandboxDelivery[] = []
  readonly #settings: SenderSettings
  readonly #closing = new AbortController()
  readonly #running = new Set<Promise<void>>()

  constructor (settings: SenderSettings) {
    this.#settings = settings
  }

  /** Sends `body` to `url`, and a duplicate when `random` draws one. */
  send (kind: SandboxDelivery['kind'], url: string, body: Readonly<Record<string, unknown>>, random: Random): void {
    if (this.#closing.signal.aborted) return
    const { payload, headers } = this.#settings.serialise(body)
    const duplicate = random.chance(this.#settings.duplicates) ? (random.chance(0.5) ? 'concurrent' : 'redelivery') : undefined
    const start = (copy: SandboxCopy): MutableDelivery => {
      const delivery: MutableDelivery = { kind, url, body, payload, headers, copy, attempts: [], outcome: 'pending' }
      this.deliveries.push(delivery)
      return delivery
    }
    const original = start('original')
    if (duplicate === 'concurrent') {
      const copy = start('concurrent')
      this.#track(Promise.all([this.#deliver(original), this.#deliver(copy)]).then(() => {}))
    } else if (duplicate === 'redelivery') {
      this.#track((async () => {
        await this.#deliver(original)
        await sleep(this.#settings.redeliveryDelay, undefined, { signal: this.#closing.signal }).catch(() => {})
        if (!this.#closing.signal.aborted) await this.#deliver(start('redelivery'))
      })())
    } else {
      this.#track(this.#deliver(original))
    }
  }

  #track (running: Promise<void>): void {
    this.#running.add(running)
    void running.finally(() => { this.#running.delete(running) })
  }

  async #deliver (delivery: MutableDelivery): Promise<void> {
    const { giveUpAfter, retryDelay, maxRetryDelay } = this.#settings
    const signal = this.#closing.signal
    const { result } = await retrying(async () => {
      const attempt = await post(delivery, signal)
      delivery.attempts.push(attempt.attempt)
      const ok = attempt.attempt.status >= 200 && attempt.attempt.status < 300
      return { result: ok, retryable: !ok, retryAfter: attempt.retryAfter }
    }, { retries: giveUpAfter - 1, baseDelay: retryDelay, maxDelay: maxRetryDelay, longRetryAfter: 'shorten', signal })
    delivery.outcome = result ? 'delivered' : 'dropped'
  }

  /** Resolves when every delivery started so far (and its duplicate) is delivered or dropped. */
  async settled (): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running])
  }

  /** Stops retrying and aborts the requests in flight; their deliveries are dropped. */
  async close (): Promise<void> {
    this.#closing.abort()
    await this.settled()
  }
}

async function post (delivery: SandboxDelivery, closing: AbortSignal): Promise<{ attempt: SandboxAttempt, retryAfter?: number | undefined }> {
  const at = Date.now()
  const timeout = AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)
  try {
    const response = await fetch(delivery.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'superai-callbacks-sandbox', ...delivery.headers },
      body: delivery.payload,
      signal: AbortSignal.any([timeout, closing]),
      redirect: 'manual'
    })
    const text = await response.text()
    return { attempt: { status: response.status, at, answer: text.slice(0, 1000) }, retryAfter: parseRetryAfter(response.headers.get('retry-after')) }
  } catch (error) {
    const reason = closing.aborted
      ? 'the sandbox closed'
      : timeout.aborted ? `no answer within ${ATTEMPT_TIMEOUT_MS} ms` : networkReason(error)
    return { attempt: { status: 0, at, error: reason } }
  }
}

/** fetch hides the useful part (ECONNREFUSED, ...) in `cause`. */
function networkReason (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause as { code?: unknown } | undefined
  return typeof cause?.code === 'string' ? `${error.message} (${cause.code})` : error.message
}
