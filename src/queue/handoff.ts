import type { JobsOptions } from 'bullmq'
import { codes } from '../errors.js'
import { entityEventNameOf, eventNameOf } from '../events.js'
import { isEntityEvent } from '../schema.js'
import type { AfterClaim, ClaimedDelivery, Delivery, PipelineOutcome, Settlement } from '../delivery/pipeline.js'
import { encodeJobId } from './job-id.js'
import type { ResolvedQueueOptions } from './options.js'
import type { SuperaiQueue } from './types.js'

/** Stores a claimed callback durably for a worker; rejects when it could not. */
export type Enqueue = (delivery: Delivery) => Promise<void>

/**
 * A redelivery that finds the first delivery between its claim and its enqueue (a few ms) waits up to
 * this long for it to settle, so that it is answered 200 duplicate rather than 409.
 */
export const HANDOFF_WAIT_MS = 1000

/** A worker's claim on running the handlers sits beside the receiver's claim on storing the callback. */
const RUN_SUFFIX = ':run'

/** The key of a queue job's run claim, beside its callback's key. */
export const runClaimKey = (key: string): string => key + RUN_SUFFIX

/**
 * Queue mode's step after the claim where callbacks are received: enqueue, then settle. Acknowledged
 * only once stored, so the claim is released when the enqueue fails. A redelivery racing the first one's
 * claim-then-enqueue waits for it (`waitForClaimMs`) instead of a 409.
 */
export class QueueHandoff implements AfterClaim {
  readonly readsMarks = false
  readonly waitForClaimMs = HANDOFF_WAIT_MS
  readonly #enqueue: Enqueue

  constructor (enqueue: Enqueue) {
    this.#enqueue = enqueue
  }

  claimKeyOf (key: string): string {
    return key
  }

  async run ({ delivery, claimKey, token }: ClaimedDelivery, _source: unknown, settlement: Settlement): Promise<PipelineOutcome> {
    try {
      await this.#enqueue(delivery)
    } catch (err) {
      delivery.log.error({ err, key: delivery.key }, 'super.AI callback: could not store it in the queue')
      await settlement.release(claimKey, token, delivery.log)
      return { status: 'storeUnavailable', error: new codes.FST_SUPERAI_STORE_UNAVAILABLE(), delivery }
    }
    // stored: the job id keeps a second enqueue out and the worker's run claim a second run, so the 202
    // need not wait for the mark (the write still lands, or is retried)
    void settlement.complete(claimKey, token, delivery.log)
    return { status: 'queued', delivery }
  }
}

/** Completed jobs stay visible (bull-board) for an hour; the store, not the job, is what deduplicates. */
const KEEP_COMPLETED = Object.freeze({ age: 60 * 60, count: 1000 })

/**
 * One BullMQ job per claimed callback, its id derived from the idempotency key, retried with `backoff`
 * up to `attempts`, then kept in the failed set for `ttl`.
 */
export function enqueueTo (queue: SuperaiQueue, options: ResolvedQueueOptions, ttlMs: number): Enqueue {
  const jobOptions: JobsOptions = {
    attempts: options.attempts,
    backoff: { ...options.backoff },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: { age: Math.ceil(ttlMs / 1000) }
  }
  return async ({ event, key, trace }) => {
    // the job name is for people reading bull-board; the worker dispatches from the event itself
    const name = isEntityEvent(event) ? entityEventNameOf(event.entityType, event.state) ?? 'entity' : eventNameOf(event.state, event.action) ?? 'callback'
    const options = { ...jobOptions, jobId: encodeJobId(key) }
    if (trace?.enabled !== true) {
      await queue.add(name, { event, key }, options)
      return
    }
    // `telemetry`: the send span's context in the job, so each try's span continues this trace wherever it runs
    await trace.send(async (carrier) => { await queue.add(name, carrier === undefined ? { event, key } : { event, key, trace: carrier }, options) })
  }
}
