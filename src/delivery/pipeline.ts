import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { codes } from '../errors.js'
import type { Observer } from '../observability.js'
import { isEntityEvent, isV2Body, logFieldsOf, type AnySuperaiEvent, type BatchCallbackBody, type CallbackBody, type SuperaiEvent } from '../schema.js'
import { NO_DELIVERY, NO_TELEMETRY } from '../telemetry/noop.js'
import type { DeliveryTrace, Telemetry } from '../telemetry/telemetry.js'
import { isMarkingStore, type ClaimResult, type IdempotencyStore, type JobStatesQuery, type MarkedClaimResult } from '../store/store.js'
import type { SourceContext } from './dispatcher.js'
import { MAX_KEY_LENGTH, batchIdempotencyKey, submissionAnchorKey } from './idempotency-key.js'
import { normalizeCallback, normalizeEntityCallback } from './normalize.js'
import type { Delivery, PipelineOutcome } from './outcome.js'
import { RetryAfterEstimate } from './retry-after.js'
import { RunningDeliveries } from './running.js'
import { Settlement } from './settlement.js'
import { jobMarksOf, type JobMarks } from './supersession.js'

// the pipeline's vocabulary, for the adapters that build it and map its outcomes
export type { Delivery, PipelineOutcome, Settlement, SourceContext }

/**
 * Claim tokens only have to be unique among the deliveries sharing a store, and never equal the
 * processed marker: a random per-process part and a counter, far cheaper than random bytes per claim.
 */
const TOKEN_PREFIX = randomBytes(9).toString('base64url')
let tokenCounter = 0

/** A claim that reads no state of its job, only the anchor (`telemetry`). */
const NO_STATES: JobStatesQuery = Object.freeze({ stateKeys: [], stateBits: [] })

/** The part of the resolved options the pipeline reads. */
export interface PipelineSettings {
  readonly keyPrefix: string
  readonly ttlMs: number
  readonly leaseMs: number
  readonly idempotencyKey: (event: SuperaiEvent) => string
  readonly unknownValues: 'accept' | 'reject'
}

/**
 * What arrives: a callback body the route validated, or an event already normalised (reconciliation's),
 * with its key when it was computed where the callback was received (a queue job's).
 */
export type Arrival =
  | { readonly body: CallbackBody | BatchCallbackBody }
  | {
    readonly event: AnySuperaiEvent
    readonly key?: string | undefined
    /** A queue job's trace context (`telemetry`), read from its data unchecked: the try's span continues its trace. */
    readonly carrier?: unknown
  }

/** A delivery that holds its claim, for the step after the claim to settle. */
export interface ClaimedDelivery {
  readonly delivery: Delivery
  /** The store key claimed (the delivery's key, or the step's own beside it) and the claim's token. */
  readonly claimKey: string
  readonly token: string
  /** The job's marks when the step asked for them (`readsMarks`) and the store keeps them; else undefined. */
  readonly job: JobMarks | undefined
  /** The processed states of the job read with the claim (0 when none were read). */
  readonly marks: number
}

/**
 * The one step a pipeline takes after a successful claim, chosen at assembly: run the handlers
 * (`RunHandlers`), or, where queue mode receives callbacks, store them for a worker (`QueueHandoff`).
 */
export interface AfterClaim {
  /** The store key a delivery claims: its own key, unless the step keeps a claim of its own beside it. */
  claimKeyOf (key: string): string
  /** Whether the claim also reads the job's processed states (a step that decides supersession needs them). */
  readonly readsMarks: boolean
  /**
   * How long a delivery that finds its key claimed waits for that claim to settle before it is answered
   * in flight: worth it only for a step that takes milliseconds. With a wait, deliveries of one key in
   * this process take turns, and another process's claim is polled.
   */
  readonly waitForClaimMs: number
  /** Takes the step and settles the claim through `settlement`; never throws. */
  run (claimed: ClaimedDelivery, source: SourceContext, settlement: Settlement): Promise<PipelineOutcome>
}

/**
 * The delivery pipeline, knowing nothing of HTTP or of queues: normalise -> key -> claim -> the step after
 * the claim. `deliver` is where every delivery starts and ends, whichever adapter brought it.
 */
export class DeliveryPipeline {
  readonly #settings: PipelineSettings
  readonly #store: IdempotencyStore
  readonly #observer: Observer
  readonly #step: AfterClaim
  readonly #settlement: Settlement
  readonly #retryAfter = new RetryAfterEstimate()
  readonly #running = new RunningDeliveries()
  /** Whether the step reads marks and the store keeps them; without, no state change is ever superseded. */
  readonly #readsMarks: boolean
  /** With a wait for held claims: the deliveries under way in this process, by key, for the next to wait on. */
  readonly #underWay = new Map<string, Promise<unknown>>()
  readonly #telemetry: Telemetry
  /** Whether each claim also reads the stored trace context its job was submitted in (`telemetry`). */
  readonly #readsAnchor: boolean

  constructor (parts: {
    readonly settings: PipelineSettings
    readonly store: IdempotencyStore
    readonly observer: Observer
    readonly step: AfterClaim
    /** The `telemetry` option's spans and metrics; without it, nothing. */
    readonly telemetry?: Telemetry | undefined
  }) {
    this.#telemetry = parts.telemetry ?? NO_TELEMETRY
    // the submission's trace context is read by the claim's own script, so only a store with claimAndRead links
    this.#readsAnchor = this.#telemetry.enabled && typeof parts.store.claimAndRead === 'function'
    this.#settings = parts.settings
    this.#store = parts.store
    this.#observer = parts.observer
    this.#step = parts.step
    this.#readsMarks = parts.step.readsMarks && isMarkingStore(parts.store)
    this.#settlement = new Settlement(parts.store, parts.settings)
  }

  /**
   * Outcomes this process owes the store (a completion or release waiting for Redis to come back).
   * @internal exposed only for testing purposes
   */
  get pendingSettlements (): number {
    return this.#settlement.pendingCount
  }

  /**
   * One delivery, from any adapter (`source` is the part of the handlers' context the adapter gives):
   * normalised and keyed, claimed, then the step after the claim. Never throws: every failure is an outcome.
   */
  async deliver (arrival: Arrival, source: SourceContext, log: FastifyBaseLogger): Promise<PipelineOutcome> {
    const startedAt = performance.now()
    let outcome: PipelineOutcome
    if (this.#telemetry.enabled) {
      const trace = this.#telemetry.startDelivery({
        source: source.source,
        ...(source.source === 'http' ? { request: source.request } : source.source === 'queue' ? { attempt: source.attempt } : {}),
        ...('event' in arrival ? { event: arrival.event, key: arrival.key, carrier: arrival.carrier } : {})
      })
      // with the span active, what the delivery starts (the verify call, the handlers, the enqueue) is its child
      outcome = await trace.within(async () => await this.#deliver(arrival, source, log, trace))
      trace.end(outcome.status, 'error' in outcome ? outcome.error : undefined)
    } else {
      // the option off: not a closure more than before it existed
      outcome = await this.#deliver(arrival, source, log, NO_DELIVERY)
    }
    const delivery = outcome.delivery
    const latestState = outcome.status === 'processed' || outcome.status === 'failed' || outcome.status === 'superseded' ? outcome.latestState : undefined
    this.#observer.delivered(outcome.status, source.source, startedAt, delivery?.event, delivery?.key, latestState)
    return outcome
  }

  /** Normalise, key, claim, then the step after the claim. */
  async #deliver (arrival: Arrival, source: SourceContext, log: FastifyBaseLogger, trace: DeliveryTrace): Promise<PipelineOutcome> {
    const prepared = this.#prepare(arrival, log, trace)
    if ('status' in prepared) return prepared
    trace.describe(prepared.event, prepared.key)
    return await this.#running.track(this.#step.waitForClaimMs > 0 ? this.#inTurn(prepared, source) : this.#claimAndStep(prepared, source))
  }

  /** The delivery of an arrival, or the outcome that refuses it before anything is stored. */
  #prepare (arrival: Arrival, log: FastifyBaseLogger, trace: DeliveryTrace): Delivery | PipelineOutcome {
    let event: AnySuperaiEvent
    if ('body' in arrival) {
      // the validator already told the two shapes apart by `version`
      const v2 = isV2Body(arrival.body)
      const normalized = v2 ? normalizeEntityCallback(arrival.body as BatchCallbackBody) : normalizeCallback(arrival.body as CallbackBody)
      event = normalized.event
      for (const { field, value } of normalized.unknown) {
        if (this.#settings.unknownValues === 'reject') return { status: 'rejected', error: new codes.FST_SUPERAI_UNKNOWN_VALUE(field, value), delivery: undefined }
        log.warn({ ...logFieldsOf(event), field, value }, 'super.AI callback with an undocumented %s; dispatched to "%s" handlers only', field, v2 ? 'entity' : 'callback')
      }
    } else {
      if (arrival.key !== undefined) return { event: arrival.event, key: arrival.key, log, trace }
      event = arrival.event
    }
    let custom: string
    try {
      custom = isEntityEvent(event) ? batchIdempotencyKey(event) : this.#settings.idempotencyKey(event)
    } catch (err) {
      log.error({ err, ...logFieldsOf(event) }, 'super.AI callback: the idempotencyKey option threw')
      return { status: 'error', error: new codes.FST_SUPERAI_INTERNAL(), delivery: undefined }
    }
    if (typeof custom !== 'string' || custom.length === 0 || custom.length > MAX_KEY_LENGTH) {
      return { status: 'rejected', error: new codes.FST_SUPERAI_INVALID_IDEMPOTENCY_KEY(), delivery: undefined }
    }
    return { event, key: this.#settings.keyPrefix + custom, log, trace }
  }

  /** After any delivery of the same key under way in this process, then claimed (waiting for a held claim). */
  async #inTurn (delivery: Delivery, source: SourceContext): Promise<PipelineOutcome> {
    const { key } = delivery
    const previous = this.#underWay.get(key)
    const current = (async () => {
      if (previous !== undefined) await previous
      return await this.#claimAndStep(delivery, source)
    })()
    this.#underWay.set(key, current)
    try {
      return await current
    } finally {
      if (this.#underWay.get(key) === current) this.#underWay.delete(key)
    }
  }

  /** Claims (polling a held claim for up to the step's wait, with a growing pause), then takes the step. */
  async #claimAndStep (delivery: Delivery, source: SourceContext): Promise<PipelineOutcome> {
    const claimKey = this.#step.claimKeyOf(delivery.key)
    const job = this.#readsMarks ? jobMarksOf(delivery.event, this.#settings, delivery.key) : undefined
    const anchorKey = this.#readsAnchor ? this.#settings.keyPrefix + submissionAnchorKey(isEntityEvent(delivery.event) ? delivery.event.entityId : delivery.event.uuid) : undefined
    const waitMs = this.#step.waitForClaimMs
    const deadline = waitMs > 0 ? performance.now() + waitMs : 0
    for (let pause = 2; ; pause *= 2) {
      const claimed = await this.#claim(delivery, claimKey, job, anchorKey)
      if (claimed.status === 'claimed') {
        const startedAt = performance.now()
        const outcome = await this.#step.run({ delivery, claimKey, token: claimed.token, job, marks: claimed.marks }, source, this.#settlement)
        if (outcome.status !== 'storeUnavailable') this.#retryAfter.observe(performance.now() - startedAt)
        return outcome
      }
      const left = deadline - performance.now()
      if (claimed.status !== 'inFlight' || left <= 0) return claimed
      await sleep(Math.min(pause, left))
    }
  }

  /**
   * Claims `claimKey`, reading the job's marks in the same step when `job` is given: the claim, or the
   * outcome that ends the delivery here.
   */
  async #claim (delivery: Delivery, claimKey: string, job: JobMarks | undefined, anchorKey?: string): Promise<{ readonly status: 'claimed', readonly token: string, readonly marks: number } | PipelineOutcome> {
    if (this.#settlement.isPending(claimKey)) return { status: 'inFlight', delivery, retryAfter: 1 }
    const token = `${TOKEN_PREFIX}${(tokenCounter++).toString(36)}`
    let claimed: ClaimResult | MarkedClaimResult
    try {
      // `job` is given only for a store with marks (#readsMarks); the last test narrows the type
      const query = job === undefined || !job.read ? undefined : job.query
      claimed = this.#store.claimAndRead === undefined || (query === undefined && anchorKey === undefined)
        ? await this.#store.claim(claimKey, token, this.#settings.leaseMs)
        : await this.#store.claimAndRead(claimKey, token, this.#settings.leaseMs, anchorKey === undefined
          ? query as JobStatesQuery
          : { ...(query ?? NO_STATES), anchorKey })
    } catch (err) {
      delivery.log.error({ err, key: claimKey }, 'super.AI callback: idempotency store unavailable')
      // a timed-out claim may still land when a frozen Redis wakes up; the release queued behind it on
      // the same connection frees the key instead of leaving it claimed for a whole lease
      this.#store.release(claimKey, token).catch(() => {})
      return { status: 'storeUnavailable', error: new codes.FST_SUPERAI_STORE_UNAVAILABLE(), delivery }
    }
    // the span its job was submitted in (`telemetry`), as the claim's script read it
    delivery.trace?.link((claimed as { readonly anchor?: string }).anchor)
    if (claimed.status === 'claimed') return { status: 'claimed', token, marks: (claimed as { readonly marks?: number }).marks ?? 0 }
    if (claimed.status === 'processed') return { status: 'duplicate', delivery }
    return { status: 'inFlight', delivery, retryAfter: this.#retryAfter.seconds(claimed.retryAfterMs) }
  }

  /** For shutdown: waits for the deliveries being handled, then gives every outcome owed to the store one last try. */
  async drain (): Promise<void> {
    await this.#running.idle()
    await this.#settlement.flush()
  }
}
