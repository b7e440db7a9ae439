import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { codes, isCoded, type CodedError } from '../errors.js'
import type { Observer} from '../observability.js';
import { traceHandlers, type DeliveryOutcome, type DeliverySource } from '../observability.js'
import { isEntityEvent, isV2Body, logFieldsOf, type AnySuperaiEvent, type BatchCallbackBody, type CallbackBody, type SuperaiEvent } from '../schema.js'
import type { IdempotencyStore } from '../store/store.js'
import type { SuperaiJob } from '../client/client.js'
import { nextClaimToken } from './claim-token.js'
import { HandlerFailures, type Dispatcher, type HandlerContext } from './dispatcher.js'
import { MAX_KEY_LENGTH, batchIdempotencyKey } from './idempotency-key.js'
import { normalizeCallback, normalizeEntityCallback } from './normalize.js'
import { Settlement } from './settlement.js'
import type { JobVerifier, Verified } from './verify.js'

/** The part of the resolved options the pipeline reads. */
export interface PipelineSettings {
  readonly keyPrefix: string
  readonly ttlMs: number
  readonly leaseMs: number
  readonly idempotencyKey: (event: SuperaiEvent) => string
  readonly unknownValues: 'accept' | 'reject'
}

/** One callback on its way through: the normalised event, its key (prefix included) and whom to log to. */
export interface Delivery {
  readonly event: AnySuperaiEvent
  readonly key: string
  readonly log: FastifyBaseLogger
}

/** Where the handlers would run, without the parts the pipeline adds (`log`, `key`, `job`). */
export type RunSource =
  | { readonly source: 'http', readonly request: FastifyRequest }
  | { readonly source: 'queue', readonly attempt: number }
  /** Reconciliation: `job` is the job object the API listed, so there is nothing to verify. */
  | { readonly source: 'reconcile', readonly job: SuperaiJob }

/** Stores a claimed callback durably for a worker (queue mode); rejects when it could not. */
export type Handoff = (delivery: Delivery) => Promise<void>

/** How a delivery ended; the adapters map it to an HTTP answer or a queue job's fate. */
export type Outcome =
  | { readonly status: 'processed' | 'queued' | 'duplicate', readonly delivery: Delivery }
  /** Another delivery holds the claim: try again in `retryAfter` seconds. */
  | { readonly status: 'inFlight', readonly delivery: Delivery, readonly retryAfter: number }
  /** Handlers threw; `error` is the coded 500, `cause` what they threw, `failures` of `handlers` failed. */
  | { readonly status: 'failed', readonly delivery: Delivery, readonly error: CodedError, readonly cause: unknown, readonly failures: number, readonly handlers: number }
  | {
    readonly status: Exclude<DeliveryOutcome, 'processed' | 'queued' | 'duplicate' | 'inFlight' | 'failed'>
    readonly error: CodedError
    readonly delivery: Delivery | undefined
  }

/** A 409 never asks for longer than this, however long the handlers usually take. */
const MAX_RETRY_AFTER_S = 5

/**
 * Queue mode: a redelivery that finds the first delivery between its claim and its enqueue (a few ms)
 * waits up to this long for it to settle, so that it is answered 200 duplicate rather than 409.
 */
const HANDOFF_WAIT_MS = 1000

/** A worker's claim on running the handlers sits beside the receiver's claim on storing the callback. */
const RUN_SUFFIX = ':run'

/**
 * The delivery pipeline, knowing nothing of HTTP: normalise -> key -> claim -> verify -> dispatch ->
 * settle, or, in queue mode, claim -> hand off -> settle. The route and the queue worker are thin
 * adapters that feed it and map its outcomes.
 */
export class DeliveryPipeline {
  readonly #settings: PipelineSettings
  readonly #store: IdempotencyStore
  readonly #dispatcher: Dispatcher
  readonly #verifier: JobVerifier | undefined
  readonly #observer: Observer
  readonly #handoff: Handoff | undefined
  readonly #settlement: Settlement
  /** Deliveries between their claim and their outcome, for `drain`. */
  #running = 0
  #idle: (() => void) | undefined
  /** Queue mode: the hand-offs this process has under way, by key, for redeliveries to wait on. */
  readonly #handingOff = new Map<string, Promise<unknown>>()
  /** A decaying maximum of how long the claimed step takes, for Retry-After. */
  #typicalRunMs = 0

  constructor (parts: {
    readonly settings: PipelineSettings
    readonly store: IdempotencyStore
    readonly dispatcher: Dispatcher
    readonly verifier?: JobVerifier | undefined
    readonly observer: Observer
    readonly handoff?: Handoff | undefined
  }) {
    this.#settings = parts.settings
    this.#store = parts.store
    this.#dispatcher = parts.dispatcher
    this.#verifier = parts.verifier
    this.#observer = parts.observer
    this.#handoff = parts.handoff
    this.#settlement = new Settlement(parts.store, parts.settings)
  }

  /** Outcomes this process owes the store (a completion or release waiting for Redis to come back). */
  get pendingSettlements (): number {
    return this.#settlement.pendingCount
  }

  /**
   * A validated body received over HTTP: runs the handlers (synchronous mode) or hands the callback to
   * the queue (queue mode). Never throws: every failure is an outcome.
   */
  async receive (body: CallbackBody | BatchCallbackBody, log: FastifyBaseLogger, source: RunSource & { readonly source: 'http' }): Promise<Outcome> {
    const startedAt = performance.now()
    let delivery: Delivery
    try {
      delivery = this.#prepare(body, log)
    } catch (err) {
      const error = asCoded(err)
      const rejected = error.statusCode === 400
      if (rejected) logRefusal(log, error, 'http')
      return this.#end({ status: rejected ? 'rejected' : 'error', error, delivery: undefined }, 'http', startedAt)
    }
    const outcome = this.#handoff === undefined
      ? await this.#tracked(this.#claimAndRun(delivery, delivery.key, source))
      : await this.#tracked(this.#claimAndHandOff(delivery, this.#handoff))
    return this.#end(outcome, 'http', startedAt)
  }

  /**
   * A stored callback taken by a queue worker: its handlers run once across every worker, guarded by a
   * claim of its own beside the receiver's. Never throws.
   */
  async process (event: AnySuperaiEvent, key: string, log: FastifyBaseLogger, attempt: number): Promise<Outcome> {
    const startedAt = performance.now()
    const delivery: Delivery = { event, key, log }
    const outcome = await this.#tracked(this.#claimAndRun(delivery, key + RUN_SUFFIX, { source: 'queue', attempt }))
    return this.#end(outcome, 'queue', startedAt)
  }

  /**
   * A state change found by reconciliation (`reconciled: true`), with the job the API listed: keyed as its
   * callback would be, so that one already processed is a duplicate. Synchronous mode runs the handlers
   * (context `source: 'reconcile'`); queue mode hands it to the queue like a callback. Never throws.
   */
  async reconcile (event: SuperaiEvent, job: SuperaiJob, log: FastifyBaseLogger): Promise<Outcome> {
    const startedAt = performance.now()
    let delivery: Delivery
    try {
      delivery = { event, key: this.#keyOf(event, log), log }
    } catch (err) {
      return this.#end({ status: 'error', error: asCoded(err), delivery: undefined }, 'reconcile', startedAt)
    }
    const outcome = this.#handoff === undefined
      ? await this.#tracked(this.#claimAndRun(delivery, delivery.key, { source: 'reconcile', job }))
      : await this.#tracked(this.#claimAndHandOff(delivery, this.#handoff))
    return this.#end(outcome, 'reconcile', startedAt)
  }

  /** The key a callback would get, or a coded error for one refused before anything is stored. */
  #prepare (body: CallbackBody | BatchCallbackBody, log: FastifyBaseLogger): Delivery {
    // the validator already told the two shapes apart by `version`
    const v2 = isV2Body(body)
    const { event, unknown } = v2 ? normalizeEntityCallback(body as BatchCallbackBody) : normalizeCallback(body as CallbackBody)
    for (const { field, value } of unknown) {
      if (this.#settings.unknownValues === 'reject') throw new codes.FST_SUPERAI_UNKNOWN_VALUE(field, value)
      log.warn({ ...logFieldsOf(event), field, value }, 'super.AI callback with an undocumented %s; dispatched to "%s" handlers only', field, v2 ? 'entity' : 'callback')
    }
    return { event, key: this.#keyOf(event, log), log }
  }

  /** The store key of an event: v2 callbacks by entity, job callbacks by the `idempotencyKey` option. */
  #keyOf (event: AnySuperaiEvent, log: FastifyBaseLogger): string {
    let custom: string
    try {
      custom = isEntityEvent(event) ? batchIdempotencyKey(event) : this.#settings.idempotencyKey(event)
    } catch (err) {
      log.error({ err, ...logFieldsOf(event) }, 'super.AI callback: the idempotencyKey option threw')
      throw new codes.FST_SUPERAI_INTERNAL()
    }
    if (typeof custom !== 'string' || custom.length === 0 || custom.length > MAX_KEY_LENGTH) {
      throw new codes.FST_SUPERAI_INVALID_IDEMPOTENCY_KEY()
    }
    return this.#settings.keyPrefix + custom
  }

  /** Claims `claimKey`; returns the token, or the outcome that ends the delivery here. */
  async #claim (delivery: Delivery, claimKey: string): Promise<string | Outcome> {
    if (this.#settlement.isPending(claimKey)) return { status: 'inFlight', delivery, retryAfter: 1 }
    const token = nextClaimToken()
    let claimed
    try {
      claimed = await this.#store.claim(claimKey, token, this.#settings.leaseMs)
    } catch (err) {
      delivery.log.error({ err, key: claimKey }, 'super.AI callback: idempotency store unavailable')
      // a timed-out claim may still land when a frozen Redis wakes up; the release queued behind it on
      // the same connection frees the key instead of leaving it claimed for a whole lease
      this.#store.release(claimKey, token).catch(() => {})
      return { status: 'storeUnavailable', error: new codes.FST_SUPERAI_STORE_UNAVAILABLE(), delivery }
    }
    if (claimed.status === 'claimed') return token
    if (claimed.status === 'processed') return { status: 'duplicate', delivery }
    return { status: 'inFlight', delivery, retryAfter: this.#retryAfter(claimed.retryAfterMs) }
  }

  async #claimAndRun (delivery: Delivery, claimKey: string, source: RunSource): Promise<Outcome> {
    const claimed = await this.#claim(delivery, claimKey)
    if (typeof claimed !== 'string') return claimed
    const startedAt = performance.now()
    const outcome = await this.#run(delivery, claimKey, claimed, source)
    this.#observeRun(performance.now() - startedAt)
    return outcome
  }

  /** verify -> dispatch -> settle, for a claimed delivery. */
  async #run (delivery: Delivery, claimKey: string, token: string, source: RunSource): Promise<Outcome> {
    const { event, key, log } = delivery
    let verified: Verified | undefined
    if (this.#verifier !== undefined && source.source !== 'reconcile') {
      try {
        verified = await this.#verifier.verify(event, log)
      } catch (err) {
        await this.#settlement.release(claimKey, token, log)
        const error = asCoded(err)
        const rejected = error.statusCode !== 503
        if (rejected) logRefusal(log, error, source.source, event)
        return { status: rejected ? 'rejected' : 'verifyUnavailable', error, delivery }
      }
    }
    const job = source.source === 'reconcile' ? source.job : verified?.job
    const batch = verified?.batch
    // built field by field: a spread of `source` costs more than the rest of this step
    const context: HandlerContext = source.source === 'http'
      ? { source: 'http', request: source.request, log, key, job, batch }
      : source.source === 'queue'
        ? { source: 'queue', attempt: source.attempt, log, key, job, batch }
        : { source: 'reconcile', log, key, job: source.job }
    try {
      await traceHandlers(event, key, source.source, () => this.#dispatcher.dispatch(event, context))
    } catch (cause) {
      const failures = cause instanceof AggregateError ? cause.errors.length : 1
      const handlers = cause instanceof HandlerFailures ? cause.handlerCount : failures
      log.error({ err: cause, ...logFieldsOf(event), key }, 'super.AI callback handler failed')
      await this.#settlement.release(claimKey, token, log)
      const error = new codes.FST_SUPERAI_HANDLER_FAILED(failures, handlers)
      return { status: 'failed', error, cause, delivery, failures, handlers }
    }
    await this.#settlement.complete(claimKey, token, log)
    return { status: 'processed', delivery }
  }

  /**
   * Queue mode: acknowledged only once stored, so the claim is released when the enqueue fails. A
   * redelivery racing the first one's claim-then-enqueue waits for it (bounded) instead of a 409: in
   * this process deliveries of one key take turns; another process's claim is polled.
   */
  async #claimAndHandOff (delivery: Delivery, handoff: Handoff): Promise<Outcome> {
    const { key } = delivery
    const previous = this.#handingOff.get(key)
    const current = (async () => {
      if (previous !== undefined) await previous
      return await this.#pollClaimAndHandOff(delivery, handoff)
    })()
    this.#handingOff.set(key, current)
    try {
      return await current
    } finally {
      if (this.#handingOff.get(key) === current) this.#handingOff.delete(key)
    }
  }

  async #pollClaimAndHandOff (delivery: Delivery, handoff: Handoff): Promise<Outcome> {
    const deadline = performance.now() + HANDOFF_WAIT_MS
    for (let pause = 2; ; pause *= 2) {
      const claimed = await this.#claim(delivery, delivery.key)
      if (typeof claimed === 'string') return await this.#handOff(delivery, handoff, claimed)
      const left = deadline - performance.now()
      if (claimed.status !== 'inFlight' || left <= 0) return claimed
      await sleep(Math.min(pause, left))
    }
  }

  async #handOff (delivery: Delivery, handoff: Handoff, token: string): Promise<Outcome> {
    const startedAt = performance.now()
    try {
      await handoff(delivery)
    } catch (err) {
      delivery.log.error({ err, key: delivery.key }, 'super.AI callback: could not store it in the queue')
      await this.#settlement.release(delivery.key, token, delivery.log)
      return { status: 'storeUnavailable', error: new codes.FST_SUPERAI_STORE_UNAVAILABLE(), delivery }
    }
    await this.#settlement.complete(delivery.key, token, delivery.log)
    this.#observeRun(performance.now() - startedAt)
    return { status: 'queued', delivery }
  }

  /** Seconds until a retry is worth it: what is left of the lease, but no more than a run usually takes. */
  #retryAfter (leaseLeftMs: number): number {
    const expectedMs = Math.min(leaseLeftMs, this.#typicalRunMs)
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(expectedMs / 1000)))
  }

  #observeRun (ms: number): void {
    // jumps up at once, decays slowly: a slow run is remembered for a while
    this.#typicalRunMs = Math.max(ms, this.#typicalRunMs * 0.9)
  }

  /** Counts the delivery as running until `promise` settles; no wrapper of its own on the hot path. */
  #tracked<T> (promise: Promise<T>): Promise<T> {
    this.#running++
    return promise.finally(() => {
      if (--this.#running === 0) this.#idle?.()
    })
  }

  #end (outcome: Outcome, source: DeliverySource, startedAt: number): Outcome {
    const delivery = outcome.delivery
    this.#observer.delivered(outcome.status, source, startedAt, delivery?.event, delivery?.key)
    return outcome
  }

  /** For shutdown: waits for the deliveries being handled, then gives every pending outcome one last try. */
  async drain (): Promise<void> {
    if (this.#running > 0) await new Promise<void>((resolve) => { this.#idle = resolve })
    this.#idle = undefined
    await this.#settlement.flush()
  }
}

/** One warn line per refused callback: its code and reason, never the body, a token or the API key. */
function logRefusal (log: FastifyBaseLogger, error: CodedError, source: DeliverySource, event?: AnySuperaiEvent): void {
  log.warn({ ...(event === undefined ? {} : logFieldsOf(event)), code: error.code, statusCode: error.statusCode, reason: error.message, source },
    source === 'queue' ? 'super.AI callback dropped by the queue worker, not retried: %s' : 'super.AI callback refused: %s', error.message)
}

function asCoded (err: unknown): CodedError {
  return isCoded(err) ? err : new codes.FST_SUPERAI_INTERNAL()
}
