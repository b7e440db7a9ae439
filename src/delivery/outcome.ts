import type { FastifyBaseLogger } from 'fastify'
import type { CodedError } from '../errors.js'
import type { JobState } from '../events.js'
import type { DeliveryOutcome } from '../observability.js'
import type { AnySuperaiEvent } from '../schema.js'
import type { DeliveryTrace } from '../telemetry/telemetry.js'

/** One callback on its way through: the normalised event, its key (prefix included) and whom to log to. */
export interface Delivery {
  readonly event: AnySuperaiEvent
  readonly key: string
  readonly log: FastifyBaseLogger
  /** Its `process superai.callback` span (the `telemetry` option); without the option, one that does nothing. */
  readonly trace?: DeliveryTrace | undefined
}

/** How a delivery ended; the adapters map it to an HTTP answer or a queue job's fate. */
export type PipelineOutcome =
  | { readonly status: 'queued' | 'duplicate', readonly delivery: Delivery }
  /** With `latestState` when the handlers ran for a superseded state change (`superseded: 'dispatch'`). */
  | { readonly status: 'processed', readonly delivery: Delivery, readonly latestState?: JobState | undefined }
  /** `superseded: 'skip'`: a later state of the job was already processed; no handler ran. */
  | { readonly status: 'superseded', readonly delivery: Delivery, readonly latestState: JobState }
  /** Another delivery holds the claim: try again in `retryAfter` seconds. */
  | { readonly status: 'inFlight', readonly delivery: Delivery, readonly retryAfter: number }
  /** Handlers threw; `error` is the coded 500, `cause` what they threw, `failures` of `handlers` failed. */
  | {
    readonly status: 'failed'
    readonly delivery: Delivery
    readonly error: CodedError
    readonly cause: unknown
    readonly failures: number
    readonly handlers: number
    readonly latestState?: JobState | undefined
  }
  | {
    readonly status: Exclude<DeliveryOutcome, 'processed' | 'queued' | 'duplicate' | 'superseded' | 'inFlight' | 'failed'>
    readonly error: CodedError
    readonly delivery: Delivery | undefined
  }
