import diagnosticsChannel from 'node:diagnostics_channel'
import { isEntityEvent, type AnySuperaiEvent } from './schema.js'

/** One message per delivery, whatever its outcome. */
export const DELIVERY_CHANNEL = 'fastify-superai-callbacks:delivery'
/** A TracingChannel around each callback's handler run (`start`, `end`, `asyncStart`, `asyncEnd`, `error`). */
export const HANDLE_CHANNEL = 'fastify-superai-callbacks:handle'

/** Where a delivery was handled: in its HTTP request, by a queue worker, or by a reconciliation pass. */
export type DeliverySource = 'http' | 'queue' | 'reconcile'

/**
 * How a delivery ended; each is also a counter of `stats()`. `superseded` is the end of one skipped with
 * `superseded: 'skip'`; the counter also counts superseded deliveries whose handlers ran.
 */
export type DeliveryOutcome =
  | 'processed' | 'queued' | 'duplicate' | 'superseded' | 'inFlight' | 'failed' | 'rejected'
  | 'storeUnavailable' | 'verifyUnavailable' | 'error'

export interface DeliveryMessage {
  readonly outcome: DeliveryOutcome
  /** The idempotency key; undefined when the delivery was refused before one was computed. */
  readonly key: string | undefined
  /** The job uuid; for a v2 (batch) callback, its `entityId`. */
  readonly uuid: string | undefined
  readonly state: string | undefined
  /** The job callback's action; undefined for a v2 callback, which has none. */
  readonly action: string | undefined
  /** A v2 callback's `entityType` (`batch`); undefined for a job callback. */
  readonly entityType: string | undefined
  readonly source: DeliverySource
  readonly durationMs: number
  /** A state change a later state of its job had already overtaken (skipped, or handled with the flag). */
  readonly superseded: boolean
  /** When `superseded`: the furthest state of the job already processed. */
  readonly latestState: string | undefined
}

/** The context object of each `fastify-superai-callbacks:handle` trace. */
export interface HandleMessage {
  readonly event: AnySuperaiEvent
  readonly key: string
  readonly source: DeliverySource
}

/**
 * Counters since start. `received` counts HTTP deliveries; worker runs count under their outcome; a
 * reconciled event counts under its outcome when it ran or failed (`reconciled` too when it ran or was
 * queued), not when it was found already processed.
 */
export type SuperaiStats = Readonly<Record<'received' | DeliveryOutcome | EventCounter, number>>

/** Counters of what is not a delivery: queue mode's dead letters and replays, reconciliation's passes and errors. */
export type EventCounter = 'deadLettered' | 'replayed' | 'reconciled' | 'reconcilePasses' | 'reconcileErrors'

const deliveryChannel = diagnosticsChannel.channel(DELIVERY_CHANNEL)
const handleChannel = diagnosticsChannel.tracingChannel<string, HandleMessage>(HANDLE_CHANNEL)

/** Runs `run` inside the handle trace; without a subscriber it is a plain call (no context object is built). */
export function traceHandlers<T> (event: AnySuperaiEvent, key: string, source: DeliverySource, run: () => Promise<T>): Promise<T> {
  if (!handleChannel.hasSubscribers) return run()
  return handleChannel.tracePromise(run, { event, key, source })
}

/** Counts outcomes and publishes each delivery; one per plugin instance. */
export class Observer {
  readonly #counts = {
    received: 0,
    processed: 0,
    queued: 0,
    duplicate: 0,
    superseded: 0,
    inFlight: 0,
    failed: 0,
    rejected: 0,
    storeUnavailable: 0,
    verifyUnavailable: 0,
    error: 0,
    deadLettered: 0,
    replayed: 0,
    reconciled: 0,
    reconcilePasses: 0,
    reconcileErrors: 0
  } satisfies Record<keyof SuperaiStats, number>

  /** A delivery ended: count it, and tell subscribers when there are any. `latestState`: it was superseded. */
  delivered (outcome: DeliveryOutcome, source: DeliverySource, startedAt: number, event?: AnySuperaiEvent, key?: string, latestState?: string): void {
    if (source === 'http') {
      this.#counts.received++
      this.#counts[outcome]++
    } else if (source === 'queue') {
      this.#counts[outcome]++
    } else if (outcome !== 'duplicate' && outcome !== 'inFlight') {
      // a pass finds most state changes already processed: those are no deliveries of a callback
      this.#counts[outcome]++
      if (outcome === 'processed' || outcome === 'queued') this.#counts.reconciled++
    }
    // a superseded delivery whose handlers ran counts under its outcome and here
    if (latestState !== undefined && outcome !== 'superseded') this.#counts.superseded++
    if (!deliveryChannel.hasSubscribers) return
    const entity = event !== undefined && isEntityEvent(event) ? event : undefined
    deliveryChannel.publish({
      outcome,
      key,
      uuid: entity === undefined ? event?.uuid as string | undefined : entity.entityId,
      state: event?.state,
      action: entity === undefined ? event?.action as string | undefined : undefined,
      entityType: entity?.entityType,
      source,
      durationMs: performance.now() - startedAt,
      superseded: latestState !== undefined,
      latestState
    } satisfies DeliveryMessage)
  }

  /** Events that are not deliveries. */
  count (counter: EventCounter, by = 1): void {
    this.#counts[counter] += by
  }

  stats (): SuperaiStats {
    return Object.freeze({ ...this.#counts })
  }
}
