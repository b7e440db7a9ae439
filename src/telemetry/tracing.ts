import type { Attributes, Context, Counter, Histogram, Span, SpanContext, Tracer } from '@opentelemetry/api'
import { entityEventNameOf, eventNameOf } from '../events.js'
import type { DeliveryOutcome, DeliverySource } from '../observability.js'
import { isEntityEvent, type AnySuperaiEvent } from '../schema.js'
import {
  ATTR, DESTINATIONS, ERROR_OUTCOMES, MESSAGING_SYSTEM, METRIC_NAMES, SCOPE_NAME, SPAN_NAMES, TELEMETRY_OUTCOMES
} from './attributes.js'
import type { OtelApi } from './load-api.js'
import type {
  ApiCall, ApiCallHook, DeliveryStart, DeliveryTrace, ReconcilePassCounts, ReconcilePassTrace, Telemetry, TraceCarrier
} from './telemetry.js'
import { formatTraceparent, parseTraceparent } from './traceparent.js'

interface Instruments {
  readonly api: OtelApi
  readonly tracer: Tracer
  readonly deliveries: Counter
  readonly handlerDuration: Histogram
}

/** The telemetry through the app's registered OpenTelemetry providers (none registered: the API's no-ops). */
export function createTracing (api: OtelApi): Telemetry {
  // The API's proxies delegate to a provider registered after this, so the order of set-up does not matter
  const meter = api.metrics.getMeter(SCOPE_NAME)
  const tools: Instruments = {
    api,
    tracer: api.trace.getTracer(SCOPE_NAME),
    deliveries: meter.createCounter(METRIC_NAMES.deliveries, { description: 'Callback deliveries, by outcome, source and event', unit: '{delivery}' }),
    handlerDuration: meter.createHistogram(METRIC_NAMES.handlerDuration, { description: 'Duration of one handler run', unit: 's' })
  }
  return Object.freeze({
    enabled: true,
    startDelivery: (start: DeliveryStart) => new Delivery(tools, start),
    startReconcilePass: () => new ReconcilePass(tools),
    apiCall: apiCallHook(tools),
    submissionAnchor: () => anchorOf(api.trace.getSpan(api.context.active())?.spanContext())
  })
}

class Delivery implements DeliveryTrace {
  readonly enabled = true
  readonly #tools: Instruments
  readonly #span: Span
  readonly #context: Context
  readonly #source: DeliverySource
  #eventName: string | undefined
  #key: string | undefined
  #ended = false
  #linked = false

  constructor (tools: Instruments, start: DeliveryStart) {
    const { api, tracer } = tools
    this.#tools = tools
    this.#source = start.source
    const attributes: Attributes = {
      [ATTR.messagingSystem]: MESSAGING_SYSTEM,
      [ATTR.messagingOperationType]: 'process',
      [ATTR.messagingDestinationName]: DESTINATIONS.process,
      [ATTR.deliverySource]: start.source
    }
    if (start.attempt !== undefined) attributes[ATTR.deliveryAttempt] = start.attempt
    const submission = remoteContext(api, start.submission)
    const parent = parentOf(api, start)
    this.#span = tracer.startSpan(SPAN_NAMES.process, {
      kind: api.SpanKind.CONSUMER,
      attributes,
      ...(submission === undefined ? {} : { links: [{ context: submission }] })
    }, parent)
    this.#context = api.trace.setSpan(parent, this.#span)
    if (start.event !== undefined) this.describe(start.event, start.key)
    else if (start.key !== undefined) this.#setKey(start.key)
  }

  #setKey (key: string): void {
    this.#key = key
    this.#span.setAttribute(ATTR.messagingMessageId, key)
  }

  describe (event: AnySuperaiEvent, key?: string): void {
    const span = this.#span
    if (key !== undefined) this.#setKey(key)
    if (isEntityEvent(event)) {
      span.setAttributes({ [ATTR.entityType]: event.entityType, [ATTR.entityId]: event.entityId })
      this.#eventName = entityEventNameOf(event.entityType, event.state) ?? 'entity'
    } else {
      span.setAttributes({
        [ATTR.jobUuid]: event.uuid,
        [ATTR.jobId]: event.id,
        [ATTR.jobState]: event.state,
        [ATTR.callbackAction]: event.action
      })
      this.#eventName = eventNameOf(event.state, event.action) ?? 'callback'
    }
  }

  link (anchor: string | undefined): void {
    // a claim polled again while another holds it reads the anchor again: one link
    if (this.#linked) return
    const context = remoteContext(this.#tools.api, anchor)
    if (context === undefined) return
    this.#linked = true
    this.#span.addLink({ context })
  }

  within<T> (run: () => T): T {
    return this.#tools.api.context.with(this.#context, run)
  }

  async runHandler<T> (eventName: string, run: () => Promise<T>): Promise<T> {
    const { api, tracer, handlerDuration } = this.#tools
    const span = tracer.startSpan(eventName, {
      kind: api.SpanKind.INTERNAL,
      attributes: { [ATTR.callbackEvent]: eventName, [ATTR.deliverySource]: this.#source }
    }, this.#context)
    const startedAt = performance.now()
    const metric: Attributes = { [ATTR.callbackEvent]: eventName, [ATTR.deliverySource]: this.#source }
    try {
      return await api.context.with(api.trace.setSpan(this.#context, span), run)
    } catch (error) {
      failed(api, span, error)
      metric[ATTR.errorType] = errorType(error)
      throw error
    } finally {
      handlerDuration.record((performance.now() - startedAt) / 1000, metric)
      span.end()
    }
  }

  async send<T> (run: (carrier: TraceCarrier | undefined) => Promise<T>): Promise<T> {
    const { api, tracer } = this.#tools
    const attributes: Attributes = {
      [ATTR.messagingSystem]: MESSAGING_SYSTEM,
      [ATTR.messagingOperationType]: 'send',
      [ATTR.messagingDestinationName]: DESTINATIONS.send
    }
    if (this.#key !== undefined) attributes[ATTR.messagingMessageId] = this.#key
    const span = tracer.startSpan(SPAN_NAMES.send, { kind: api.SpanKind.PRODUCER, attributes }, this.#context)
    try {
      return await api.context.with(api.trace.setSpan(this.#context, span), () => run(carrierOf(span.spanContext())))
    } catch (error) {
      failed(api, span, error)
      throw error
    } finally {
      span.end()
    }
  }

  end (outcome: DeliveryOutcome, error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    const { api, deliveries } = this.#tools
    const said = TELEMETRY_OUTCOMES[outcome]
    this.#span.setAttribute(ATTR.deliveryOutcome, said)
    if (ERROR_OUTCOMES.has(said)) failed(api, this.#span, error, error === undefined ? said : undefined)
    this.#span.end()
    const attributes: Attributes = { [ATTR.deliveryOutcome]: said, [ATTR.deliverySource]: this.#source }
    if (this.#eventName !== undefined) attributes[ATTR.callbackEvent] = this.#eventName
    deliveries.add(1, attributes)
  }
}

class ReconcilePass implements ReconcilePassTrace {
  readonly #api: OtelApi
  readonly #span: Span
  readonly #context: Context

  constructor ({ api, tracer }: Instruments) {
    this.#api = api
    this.#span = tracer.startSpan(SPAN_NAMES.reconcile, { kind: api.SpanKind.INTERNAL })
    this.#context = api.trace.setSpan(api.context.active(), this.#span)
  }

  within<T> (run: () => T): T {
    return this.#api.context.with(this.#context, run)
  }

  end (counts: ReconcilePassCounts, error?: unknown): void {
    this.#span.setAttributes({
      [ATTR.reconcileListed]: counts.listed,
      [ATTR.reconcileDispatched]: counts.dispatched,
      [ATTR.reconcileDuplicate]: counts.duplicate,
      [ATTR.reconcileFailed]: counts.failed
    })
    if (error !== undefined) failed(this.#api, this.#span, error)
    this.#span.end()
  }
}

/** HTTP client spans after https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client-span */
function apiCallHook ({ api, tracer }: Instruments): ApiCallHook {
  return async <T>(call: ApiCall, run: () => Promise<T>, statusOf: (result: T) => number): Promise<T> => {
    const url = new URL(call.url)
    const attributes: Attributes = {
      [ATTR.httpRequestMethod]: call.method,
      [ATTR.urlTemplate]: call.template,
      [ATTR.urlFull]: call.url,
      [ATTR.serverAddress]: url.hostname,
      [ATTR.serverPort]: url.port === '' ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port)
    }
    if (call.attempt !== undefined && call.attempt > 1) attributes[ATTR.httpRequestResendCount] = call.attempt - 1
    const span = tracer.startSpan(`${call.method} ${call.template}`, { kind: api.SpanKind.CLIENT, attributes })
    try {
      const result = await api.context.with(api.trace.setSpan(api.context.active(), span), run)
      const status = statusOf(result)
      span.setAttribute(ATTR.httpResponseStatusCode, status)
      if (status >= 400) {
        span.setAttribute(ATTR.errorType, String(status))
        span.setStatus({ code: api.SpanStatusCode.ERROR })
      }
      return result
    } catch (error) {
      const status = (error as { status?: unknown } | undefined)?.status
      if (typeof status === 'number' && status > 0) span.setAttribute(ATTR.httpResponseStatusCode, status)
      failed(api, span, error, typeof status === 'number' && status >= 400 ? String(status) : undefined)
      throw error
    } finally {
      span.end()
    }
  }
}

/** The parent: the request's `@fastify/otel` span, else the carried context, else whatever is active. */
function parentOf (api: OtelApi, start: DeliveryStart): Context {
  const active = api.context.active()
  const request = requestContext(start.request)
  if (request !== undefined) return request
  const carried = carriedContext(api, start.carrier)
  if (carried === undefined) return active
  // BullMQ's own telemetry, when the app gave it one, runs the processor in its `process` span of the same
  // trace: nest under it rather than beside it
  if (api.trace.getSpanContext(active)?.traceId === carried.traceId) return active
  return api.trace.setSpanContext(active, carried)
}

/** `request.opentelemetry()`, which `@fastify/otel` decorates requests with; `instrumented` when it made a span. */
function requestContext (request: object | undefined): Context | undefined {
  const decorator = (request as { opentelemetry?: unknown } | undefined)?.opentelemetry
  if (typeof decorator !== 'function') return undefined
  const otel = decorator.call(request) as { instrumented?: unknown, context?: Context | null } | undefined
  return otel?.instrumented === true && otel.context != null ? otel.context : undefined
}

function carriedContext (api: OtelApi, carrier: unknown): SpanContext | undefined {
  if (typeof carrier !== 'object' || carrier === null) return undefined
  const { traceparent, tracestate } = carrier as { traceparent?: unknown, tracestate?: unknown }
  return remoteContext(api, traceparent, tracestate)
}

function remoteContext (api: OtelApi, traceparent: unknown, tracestate?: unknown): SpanContext | undefined {
  const parts = parseTraceparent(traceparent)
  if (parts === undefined) return undefined
  return { ...parts, isRemote: true, ...(typeof tracestate === 'string' ? { traceState: api.createTraceState(tracestate) } : {}) }
}

function carrierOf (context: SpanContext): TraceCarrier | undefined {
  if (context.traceId === '00000000000000000000000000000000') return undefined
  const tracestate = context.traceState?.serialize()
  return { traceparent: formatTraceparent(context), ...(tracestate === undefined || tracestate === '' ? {} : { tracestate }) }
}

/** A sampled, valid span context as a `traceparent`: nothing is stored for a span no backend will show. */
function anchorOf (context: SpanContext | undefined): string | undefined {
  if (context === undefined || (context.traceFlags & 1) === 0 || context.traceId === '00000000000000000000000000000000') return undefined
  return formatTraceparent(context)
}

function failed (api: OtelApi, span: Span, error: unknown, type?: string): void {
  if (error instanceof Error) span.recordException(error)
  else if (error !== undefined) span.recordException(String(error))
  span.setAttribute(ATTR.errorType, type ?? errorType(error))
  span.setStatus({ code: api.SpanStatusCode.ERROR, ...(error instanceof Error ? { message: error.message } : {}) })
}

/** `error.type`: a coded error's code, else the error's class name. */
function errorType (error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? error.name : '_OTHER'
}
