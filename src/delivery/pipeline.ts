import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { codes, isCoded, type CodedError } from '../errors.js'
import type { JobState } from '../events.js'
import type { Observer } from '../observability.js'
import { traceHandlers, type DeliverySource } from '../observability.js'
import { isEntityEvent, isV2Body, logFieldsOf, type AnySuperaiEvent, type BatchCallbackBody, type CallbackBody, type SuperaiEvent } from '../schema.js'
import { isMarkingStore, type ClaimResult, type IdempotencyStore, type MarkedClaimResult } from '../store/store.js'
import type { SuperaiJob } from '../client/client.js'
import { nextClaimToken } from './claim-token.js'
import { HandlerFailures, type Dispatcher, type HandlerContext } from './dispatcher.js'
import { QueueHandoff, type Handoff } from './handoff.js'
import { MAX_KEY_LENGTH, batchIdempotencyKey } from './idempotency-key.js'
import { normalizeCallback, normalizeEntityCallback } from './normalize.js'
import type { Delivery, PipelineOutcome } from './outcome.js'
import { RetryAfterEstimate } from './retry-after.js'
import { RunningDeliveries } from './running.js'
import { Settlement } from './settlement.js'
import { jobMarksOf, latestStateOf, type JobMarks } from './supersession.js'
import type { JobVerifier, Verified } from './verify.js'

// the pipeline's vocabulary, for the adapters that build it and map its outcomes
export type { Delivery, Handoff, PipelineOutcome }

/** The part of the resolved options the pipeline reads. */
export interface PipelineSettings {
  readonly keyPrefix: string
  readonly ttlMs: number
  readonly leaseMs: number
  readonly idempotencyKey: (event: SuperaiEvent) => string
  readonly unknownValues: 'accept' | 'reject'
  /** A state change a later state of its job overtook: run the handlers with the flag (default), or skip them. */
  readonly superseded?: 'dispatch' | 'skip'
}

/** Where the handlers would run, without the parts the pipeline adds (`log`, `key`, `job`). */
type RunSource =
  | { readonly source: 'http', readonly request: FastifyRequest }
  | { readonly source: 'queue', readonly attempt: number }
  /** Reconciliation: `job` is the job object the API listed, so there is nothing to verify. */
  | { readonly source: 'reconcile', readonly job: SuperaiJob }

/** A worker's claim on running the handlers sits beside the receiver's claim on storing the callback. */
const RUN_SUFFIX = ':run'

/** A claim taken: its token, and the marks of the delivery's job when they were read with it (else 0). */
interface Claimed { readonly status: 'claimed', readonly token: string, readonly marks: number }

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
  readonly #settlement: Settlement
  readonly #retryAfter = new RetryAfterEstimate()
  readonly #running = new RunningDeliveries()
  /** Whether the store keeps marks beside its claims; without, no state change is ever superseded. */
  readonly #marking: boolean
  /** Queue mode only: claim -> hand off -> settle in place of the run. */
  readonly #queue: QueueHandoff | undefined

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
    this.#marking = isMarkingStore(parts.store)
    this.#settlement = new Settlement(parts.store, parts.settings)
    this.#queue = parts.handoff === undefined
      ? undefined
      : new QueueHandoff({
        handoff: parts.handoff,
        claim: async (delivery) => {
          const claimed = await this.#claim(delivery, delivery.key, undefined)
          return claimed.status === 'claimed' ? claimed.token : claimed
        },
        settlement: this.#settlement,
        durations: this.#retryAfter
      })
  }

  /** Outcomes this process owes the store (a completion or release waiting for Redis to come back). */
  get pendingSettlements (): number {
    return this.#settlement.pendingCount
  }

  /**
   * A validated body received over HTTP: runs the handlers (synchronous mode) or hands the callback to
   * the queue (queue mode). Never throws: every failure is an outcome.
   */
  async receive (body: CallbackBody | BatchCallbackBody, log: FastifyBaseLogger, source: RunSource & { readonly source: 'http' }): Promise<PipelineOutcome> {
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
    return this.#end(await this.#deliver(delivery, source), 'http', startedAt)
  }

  /**
   * A stored callback taken by a queue worker: its handlers run once across every worker, guarded by a
   * claim of its own beside the receiver's. Never throws.
   */
  async process (event: AnySuperaiEvent, key: string, log: FastifyBaseLogger, attempt: number): Promise<PipelineOutcome> {
    const startedAt = performance.now()
    const delivery: Delivery = { event, key, log }
    const outcome = await this.#running.track(this.#claimAndRun(delivery, key + RUN_SUFFIX, { source: 'queue', attempt }))
    return this.#end(outcome, 'queue', startedAt)
  }

  /**
   * A state change found by reconciliation (`reconciled: true`), with the job the API listed: keyed as its
   * callback would be, so that one already processed is a duplicate. Synchronous mode runs the handlers
   * (context `source: 'reconcile'`); queue mode hands it to the queue like a callback. Never throws.
   */
  async reconcile (event: SuperaiEvent, job: SuperaiJob, log: FastifyBaseLogger): Promise<PipelineOutcome> {
    const startedAt = performance.now()
    let delivery: Delivery
    try {
      delivery = { event, key: this.#keyOf(event, log), log }
    } catch (err) {
      return this.#end({ status: 'error', error: asCoded(err), delivery: undefined }, 'reconcile', startedAt)
    }
    return this.#end(await this.#deliver(delivery, { source: 'reconcile', job }), 'reconcile', startedAt)
  }

  /** A delivery that arrived (a callback, a reconciled event): its handlers run here, or the queue stores it. */
  #deliver (delivery: Delivery, source: RunSource): Promise<PipelineOutcome> {
    return this.#running.track(this.#queue === undefined
      ? this.#claimAndRun(delivery, delivery.key, source)
      : this.#queue.deliver(delivery))
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

  /**
   * Claims `claimKey`, reading the job's marks in the same step when `job` is given: the claim, or the
   * outcome that ends the delivery here.
   */
  async #claim (delivery: Delivery, claimKey: string, job: JobMarks | undefined): Promise<Claimed | PipelineOutcome> {
    if (this.#settlement.isPending(claimKey)) return { status: 'inFlight', delivery, retryAfter: 1 }
    const token = nextClaimToken()
    let claimed: ClaimResult | MarkedClaimResult
    try {
      // `job` is given only for a store with marks (#marking); the last test narrows the type
      claimed = job === undefined || !job.read || this.#store.claimAndRead === undefined
        ? await this.#store.claim(claimKey, token, this.#settings.leaseMs)
        : await this.#store.claimAndRead(claimKey, token, this.#settings.leaseMs, job.query)
    } catch (err) {
      delivery.log.error({ err, key: claimKey }, 'super.AI callback: idempotency store unavailable')
      // a timed-out claim may still land when a frozen Redis wakes up; the release queued behind it on
      // the same connection frees the key instead of leaving it claimed for a whole lease
      this.#store.release(claimKey, token).catch(() => {})
      return { status: 'storeUnavailable', error: new codes.FST_SUPERAI_STORE_UNAVAILABLE(), delivery }
    }
    if (claimed.status === 'claimed') return { status: 'claimed', token, marks: (claimed as { readonly marks?: number }).marks ?? 0 }
    if (claimed.status === 'processed') return { status: 'duplicate', delivery }
    return { status: 'inFlight', delivery, retryAfter: this.#retryAfter.seconds(claimed.retryAfterMs) }
  }

  /**
   * Claims and runs a delivery. A state change learns with its claim which states of its job were already
   * processed; one a later state overtook runs with `superseded` (or, with `superseded: 'skip'`, is
   * marked processed without running). Decided here, when the handlers would run: in queue mode by the
   * worker, not when the callback was received.
   */
  async #claimAndRun (delivery: Delivery, claimKey: string, source: RunSource): Promise<PipelineOutcome> {
    const job = this.#marking ? jobMarksOf(delivery.event, this.#settings, delivery.key) : undefined
    const claimed = await this.#claim(delivery, claimKey, job)
    if (claimed.status !== 'claimed') return claimed
    const latestState = job === undefined || claimed.marks === 0 ? undefined : latestStateOf(job.state, claimed.marks)
    if (latestState !== undefined && this.#settings.superseded === 'skip') {
      // skipped counts as processed: recorded as a success is
      await this.#settlement.complete(claimKey, claimed.token, delivery.log, job?.write === true ? job : undefined)
      return { status: 'superseded', delivery, latestState }
    }
    const startedAt = performance.now()
    const outcome = await this.#run(delivery, claimKey, claimed.token, source, job, latestState)
    this.#retryAfter.observe(performance.now() - startedAt)
    return outcome
  }

  /** verify -> dispatch -> settle, for a claimed delivery; a success adds the state to its job's marks. */
  async #run (
    delivery: Delivery, claimKey: string, token: string, source: RunSource, job: JobMarks | undefined, latestState: JobState | undefined
  ): Promise<PipelineOutcome> {
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
    const apiJob = source.source === 'reconcile' ? source.job : verified?.job
    const batch = verified?.batch
    // built field by field: a spread of `source` costs more than the rest of this step
    const superseded = latestState !== undefined
    const context: HandlerContext = source.source === 'http'
      ? { source: 'http', request: source.request, log, key, job: apiJob, batch, superseded, latestState }
      : source.source === 'queue'
        ? { source: 'queue', attempt: source.attempt, log, key, job: apiJob, batch, superseded, latestState }
        : { source: 'reconcile', log, key, job: source.job, superseded, latestState }
    try {
      await traceHandlers(event, key, source.source, () => this.#dispatcher.dispatch(event, context))
    } catch (cause) {
      const failures = cause instanceof AggregateError ? cause.errors.length : 1
      const handlers = cause instanceof HandlerFailures ? cause.handlerCount : failures
      log.error({ err: cause, ...logFieldsOf(event), key }, 'super.AI callback handler failed')
      await this.#settlement.release(claimKey, token, log)
      const error = new codes.FST_SUPERAI_HANDLER_FAILED(failures, handlers)
      return { status: 'failed', error, cause, delivery, failures, handlers, latestState }
    }
    const marks = job?.write === true ? job : undefined
    if (source.source === 'queue') {
      // BullMQ finishes the job next, and a finished job never runs again: the mark need not hold it up
      // (a job retried after a crash in between finds the mark, or the claim until its lease ends, as before)
      this.#settlement.completeSoon(claimKey, token, log, marks)
    } else {
      await this.#settlement.complete(claimKey, token, log, marks)
    }
    return { status: 'processed', delivery, latestState }
  }

  #end (outcome: PipelineOutcome, source: DeliverySource, startedAt: number): PipelineOutcome {
    const delivery = outcome.delivery
    const latestState = outcome.status === 'processed' || outcome.status === 'failed' || outcome.status === 'superseded' ? outcome.latestState : undefined
    this.#observer.delivered(outcome.status, source, startedAt, delivery?.event, delivery?.key, latestState)
    return outcome
  }

  /** For shutdown: waits for the deliveries being handled, then gives every pending outcome one last try. */
  async drain (): Promise<void> {
    await this.#running.idle()
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
