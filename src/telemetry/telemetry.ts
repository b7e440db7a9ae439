import type { DeliveryOutcome, DeliverySource } from '../observability.js'
import type { AnySuperaiEvent } from '../schema.js'
import { loadOpenTelemetryApi } from './load-api.js'
import { NO_TELEMETRY } from './noop.js'
import { createTracing } from './tracing.js'

/**
 * The one seam between the plugin and OpenTelemetry. Its types say nothing of OpenTelemetry, so that the
 * pipeline, the queue, reconciliation and the client stay free of it; `NO_TELEMETRY` (the option off)
 * runs what it is given and builds nothing.
 */
export interface Telemetry {
  /** False for `NO_TELEMETRY`: nothing was loaded. */
  readonly enabled: boolean
  /** A delivery's `process superai.callback` span (CONSUMER), started now. */
  startDelivery (start: DeliveryStart): DeliveryTrace
  /** A reconciliation pass's span; deliveries started `within` it are its children. */
  startReconcilePass (): ReconcilePassTrace
  /** Wraps one HTTP request to the super.AI API in a CLIENT span; the client takes it as a hook. */
  readonly apiCall: ApiCallHook
  /**
   * The active span as a `traceparent`, to store beside a job submitted now; undefined when no span is
   * active (or it is not sampled), so nothing is stored.
   */
  submissionAnchor (): string | undefined
}

/** W3C Trace Context's fields, carried in a queued job's data from the receiver's send span to its tries. */
export interface TraceCarrier {
  readonly traceparent: string
  readonly tracestate?: string
}

export interface DeliveryStart {
  readonly source: DeliverySource
  /** The callback, when known at start (a queue try, a reconciled state change); else `describe` it later. */
  readonly event?: AnySuperaiEvent | undefined
  /** The idempotency key (`messaging.message.id`). */
  readonly key?: string | undefined
  /** Queue mode: which try this is, counting from 1. */
  readonly attempt?: number | undefined
  /** Queue mode: the carrier read from the job's data, unchecked; a malformed one is ignored. */
  readonly carrier?: unknown
  /** Synchronous mode: the Fastify request; `@fastify/otel`'s request span, when it made one, is the parent. */
  readonly request?: object | undefined
  /** The anchor stored when the callback's job was submitted, when already known (else `link` it later). */
  readonly submission?: string | undefined
}

/** One delivery's span: what the pipeline tells it, in the order it learns it. */
export interface DeliveryTrace {
  /** False for the option off: nothing is recorded, so callers need not wrap anything. */
  readonly enabled: boolean
  /** The callback and its key, once validated. */
  describe (event: AnySuperaiEvent, key?: string): void
  /** Links the span to the span its job was submitted in (the stored anchor); undefined or malformed: nothing. */
  link (anchor: string | undefined): void
  /** Runs `run` with the delivery's span active, so what it starts (an API call, a handler) is its child. */
  within<T> (run: () => T): T
  /** One handler's run: a child span (INTERNAL) named by the event it subscribed to, and its duration. */
  runHandler<T> (eventName: string, run: () => Promise<T>): Promise<T>
  /** Queue mode's hand-off: a `send superai.callbacks` child (PRODUCER); `run` gets the carrier for the job. */
  send<T> (run: (carrier: TraceCarrier | undefined) => Promise<T>): Promise<T>
  /** Ends the span with the delivery's outcome (ERROR for a failure or a refusal) and counts the delivery. */
  end (outcome: DeliveryOutcome, error?: unknown): void
}

/** What a reconciliation pass found, as its span's attributes. */
export interface ReconcilePassCounts {
  readonly listed: number
  readonly dispatched: number
  readonly duplicate: number
  readonly failed: number
}

export interface ReconcilePassTrace {
  within<T> (run: () => T): T
  end (counts: ReconcilePassCounts, error?: unknown): void
}

/** One HTTP request to the super.AI API. */
export interface ApiCall {
  readonly method: string
  /** The path with its parameters named, as the API documents it: `/jobs/{uuid}/response`. */
  readonly template: string
  /** The full URL requested. */
  readonly url: string
  /** Which try of the call this is, counting from 1. */
  readonly attempt?: number
}

/** Runs `run` (the request) inside a CLIENT span; `statusOf` reads the HTTP status of its result. */
export type ApiCallHook = <T>(call: ApiCall, run: () => Promise<T>, statusOf: (result: T) => number) => Promise<T>

/**
 * The telemetry for the `telemetry` option: `NO_TELEMETRY` when it is off (nothing is imported), else
 * OpenTelemetry through the app's registered providers, failing with FST_SUPERAI_TELEMETRY_UNAVAILABLE
 * when `@opentelemetry/api` is not installed. `moduleName` exists for the test of the missing package.
 */
export async function openTelemetry (enabled: boolean, moduleName?: string): Promise<Telemetry> {
  if (!enabled) return NO_TELEMETRY
  return createTracing(await loadOpenTelemetryApi(moduleName))
}
