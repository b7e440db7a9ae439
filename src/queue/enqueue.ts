import type { JobsOptions } from 'bullmq'
import { entityEventNameOf, eventNameOf } from '../events.js'
import { isEntityEvent } from '../schema.js'
import type { Handoff } from '../delivery/pipeline.js'
import { encodeJobId } from './job-id.js'
import type { ResolvedQueueOptions } from './options.js'
import type { SuperaiQueue } from './types.js'

/** Completed jobs stay visible (bull-board) for an hour; the store, not the job, is what deduplicates. */
const KEEP_COMPLETED = Object.freeze({ age: 60 * 60, count: 1000 })

/**
 * The pipeline's hand-off in queue mode: one BullMQ job per claimed callback, its id derived from the
 * idempotency key, retried with `backoff` up to `attempts`, then kept in the failed set for `ttl`.
 */
export function enqueueHandoff (queue: SuperaiQueue, options: ResolvedQueueOptions, ttlMs: number): Handoff {
  const jobOptions: JobsOptions = {
    attempts: options.attempts,
    backoff: { ...options.backoff },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: { age: Math.ceil(ttlMs / 1000) }
  }
  return async ({ event, key }) => {
    // the job name is for people reading bull-board; the worker dispatches from the event itself
    const name = isEntityEvent(event) ? entityEventNameOf(event.entityType, event.state) ?? 'entity' : eventNameOf(event.state, event.action) ?? 'callback'
    await queue.add(name, { event, key }, { ...jobOptions, jobId: encodeJobId(key) })
  }
}
