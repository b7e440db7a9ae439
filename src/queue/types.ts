// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- a JSDoc @ts-ignore survives into the .d.ts, where consumers without bullmq need it
/** @ts-ignore bullmq is an optional peer dependency: without it (and so without queue mode) this import is unresolved */
import type { Queue } from 'bullmq'
import type { AnySuperaiEvent } from '../schema.js'

/** What a queue job carries: the normalised callback (a job or a v2 one) and its idempotency key (prefix included). */
export interface CallbackJobData {
  readonly event: AnySuperaiEvent
  readonly key: string
  /** With `telemetry`: the W3C trace context of the receiver's `send superai.callbacks` span. */
  readonly trace?: { readonly traceparent: string, readonly tracestate?: string }
}

/**
 * `T`, or `Fallback` when `T` is `any` or unresolved: only those are assignable to an object type with a
 * property no real type has (a conditional type over an unresolved import resolves to \`any\` itself, so
 * the usual \`0 extends 1 & T\` test cannot tell).
 */
type Resolved<T, Fallback> = [T] extends [{ readonly __fastifySuperaiNeverOnARealType: true }] ? Fallback : T

/**
 * The BullMQ `Queue` of queue mode, for bull-board, metrics and your own inspection. Without `bullmq`
 * installed the import above is unresolved; the queue is then `unknown` (install bullmq for its types)
 * rather than an `any` that would switch off type checking wherever it is used.
 */
export type SuperaiQueue = Resolved<Queue<CallbackJobData>, unknown>

/** A callback whose handlers failed on every try, kept in BullMQ's failed set for `ttl`. */
export interface DeadLetter {
  /** The idempotency key (prefix included), exactly as the job carries it. */
  readonly key: string
  readonly event: AnySuperaiEvent
  /** Tries made. */
  readonly attempts: number
  /** BullMQ's `failedReason`: which try failed, what happens next, and the handlers' error messages. */
  readonly reason: string
  readonly failedAt: Date
}

export interface ReplayResult {
  /** Keys of the dead letters put back in the queue, attempts reset. */
  readonly replayed: readonly string[]
  /** Keys asked for that are not dead letters (never failed, already replayed, or expired). */
  readonly missing: readonly string[]
}

/** `app.superai.deadLetters`: the failed set of queue mode. */
export interface SuperaiDeadLetters {
  /** Every dead letter, most recent first. */
  list (): Promise<DeadLetter[]>
  /** Runs the dead letters again (all of them when no key is given), with their attempts starting again. */
  replay (keys?: readonly string[]): Promise<ReplayResult>
}
