import type { DeliveryOutcome } from '../observability.js'

/** The instrumentation scope of every span and instrument. */
export const SCOPE_NAME = 'fastify-superai-callbacks'

/**
 * Span names, after OpenTelemetry's messaging conventions (`{operation} {destination}`):
 * https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/
 */
export const SPAN_NAMES = {
  process: 'process superai.callback',
  send: 'send superai.callbacks',
  reconcile: 'reconcile superai.callback'
} as const

/** The destinations those names end with: a callback is processed, the queue is sent to. */
export const DESTINATIONS = { process: 'superai.callback', send: 'superai.callbacks' } as const

export const METRIC_NAMES = {
  deliveries: 'superai.callback.deliveries',
  handlerDuration: 'superai.callback.handler.duration'
} as const

/** Attribute keys: OpenTelemetry's where one exists, the `superai.` namespace for the rest. */
export const ATTR = {
  messagingSystem: 'messaging.system',
  messagingOperationType: 'messaging.operation.type',
  messagingDestinationName: 'messaging.destination.name',
  messagingMessageId: 'messaging.message.id',
  jobUuid: 'superai.job.uuid',
  jobId: 'superai.job.id',
  jobState: 'superai.job.state',
  callbackAction: 'superai.callback.action',
  callbackEvent: 'superai.callback.event',
  entityType: 'superai.entity.type',
  entityId: 'superai.entity.id',
  deliverySource: 'superai.delivery.source',
  deliveryOutcome: 'superai.delivery.outcome',
  deliveryAttempt: 'superai.delivery.attempt',
  reconcileListed: 'superai.reconcile.listed',
  reconcileDispatched: 'superai.reconcile.dispatched',
  reconcileDuplicate: 'superai.reconcile.duplicate',
  reconcileFailed: 'superai.reconcile.failed',
  httpRequestMethod: 'http.request.method',
  httpResponseStatusCode: 'http.response.status_code',
  httpRequestResendCount: 'http.request.resend_count',
  urlTemplate: 'url.template',
  urlFull: 'url.full',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type'
} as const

/** `messaging.system`: the provider the messages come from. */
export const MESSAGING_SYSTEM = 'superai'

/** The outcome as a span and metric attribute says it. */
export type TelemetryOutcome =
  | 'processed' | 'queued' | 'duplicate' | 'superseded' | 'in-flight' | 'failed' | 'refused' | 'store-unavailable'

/**
 * The plugin's outcomes (`stats()`, the delivery channel) in the attribute's words: bad input and a
 * callback `verify` could not confirm, for want of the API or because the job disagrees, are refused; an
 * unexpected error is a failure.
 */
export const TELEMETRY_OUTCOMES: { readonly [O in DeliveryOutcome]: TelemetryOutcome } = Object.freeze({
  processed: 'processed',
  queued: 'queued',
  duplicate: 'duplicate',
  superseded: 'superseded',
  inFlight: 'in-flight',
  failed: 'failed',
  rejected: 'refused',
  storeUnavailable: 'store-unavailable',
  verifyUnavailable: 'refused',
  error: 'failed'
})

/** Outcomes that set the span's status to ERROR; a duplicate, a 409 or a superseded state is the system working. */
export const ERROR_OUTCOMES: ReadonlySet<TelemetryOutcome> = new Set<TelemetryOutcome>(['failed', 'refused', 'store-unavailable'])
