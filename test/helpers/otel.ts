import { context, metrics, propagation, trace, type SpanContext } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { FastifyOtelInstrumentation } from '@fastify/otel'

/** Metrics read on demand (the SDK's exporting readers read on a timer). */
class OnDemandReader extends MetricReader {
  constructor () { super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE }) }
  protected override async onForceFlush (): Promise<void> {}
  protected override async onShutdown (): Promise<void> {}
}

/**
 * The real OpenTelemetry SDK registered globally as an app would (a tracer provider with an in-memory
 * exporter, the AsyncLocalStorage context manager, the W3C propagator, a meter provider), and
 * `@fastify/otel`'s instrumentation on the same tracer provider. One per test file: the API's globals
 * are the process's.
 */
export interface OtelHarness {
  /** `app.register(harness.fastifyOtel.plugin())` before the routes, as its README says. */
  readonly fastifyOtel: FastifyOtelInstrumentation
  /** Every ended span so far, in the order they ended. */
  spans (): ReadableSpan[]
  /** The one ended span with this name; throws when there are none or several. */
  span (name: string): ReadableSpan
  /** The spans whose parent is `parent`. */
  childrenOf (parent: ReadableSpan): ReadableSpan[]
  /** The metric named `name` as collected now, or undefined when nothing recorded it. */
  metric (name: string): Promise<MetricData | undefined>
  /** Forget the spans ended so far (metrics are cumulative: compare before and after). */
  reset (): void
  /** Unregister everything. */
  close (): Promise<void>
}

export function otelHarness (): OtelHarness {
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const reader = new OnDemandReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  const contextManager = new AsyncLocalStorageContextManager().enable()
  if (!trace.setGlobalTracerProvider(tracerProvider)) throw new Error('a tracer provider was registered already')
  context.setGlobalContextManager(contextManager)
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  metrics.setGlobalMeterProvider(meterProvider)
  const fastifyOtel = new FastifyOtelInstrumentation()
  fastifyOtel.setTracerProvider(tracerProvider)

  const spans = (): ReadableSpan[] => exporter.getFinishedSpans()
  return {
    fastifyOtel,
    spans,
    span (name) {
      const found = spans().filter((span) => span.name === name)
      if (found.length !== 1) throw new Error(`${found.length} spans named "${name}": ${spans().map((span) => span.name).join(', ')}`)
      return found[0] as ReadableSpan
    },
    childrenOf (parent) {
      const { traceId, spanId } = parent.spanContext()
      return spans().filter(({ parentSpanContext }) => parentSpanContext?.traceId === traceId && parentSpanContext.spanId === spanId)
    },
    async metric (name) {
      const { resourceMetrics } = await reader.collect()
      return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === name)
    },
    reset () { exporter.reset() },
    async close () {
      fastifyOtel.disable()
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
      trace.disable()
      context.disable()
      propagation.disable()
      metrics.disable()
    }
  }
}

/** Whether `span`'s parent is `parent`. */
export function isChildOf (span: ReadableSpan, parent: { spanContext: () => SpanContext }): boolean {
  const { traceId, spanId } = parent.spanContext()
  return span.parentSpanContext?.traceId === traceId && span.parentSpanContext.spanId === spanId
}

/** A counter's or histogram's data point whose attributes include `attributes`. */
export function pointWith<T extends number | Histogram> (metric: MetricData | undefined, attributes: Record<string, string>): DataPoint<T> | undefined {
  const points = (metric?.dataPoints ?? []) as Array<DataPoint<T>>
  return points.find((point) => Object.entries(attributes).every(([key, value]) => point.attributes[key] === value))
}

/** The data point whose attributes are exactly `attributes`. */
export function pointOf<T extends number | Histogram> (metric: MetricData | undefined, attributes: Record<string, string>): DataPoint<T> | undefined {
  const points = (metric?.dataPoints ?? []) as Array<DataPoint<T>>
  const size = Object.keys(attributes).length
  return points.find((point) => Object.keys(point.attributes).length === size &&
    Object.entries(attributes).every(([key, value]) => point.attributes[key] === value))
}

/** What a test needs of a span, as plain JSON: a worker in a child process prints these for the parent to check. */
export interface SpanRecord {
  readonly name: string
  readonly kind: number
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly attributes: Readonly<Record<string, unknown>>
  readonly links: ReadonlyArray<{ readonly traceId: string, readonly spanId: string }>
  readonly status: number
  readonly startNs: number
}

export function spanRecord (span: ReadableSpan): SpanRecord {
  const { traceId, spanId } = span.spanContext()
  return {
    name: span.name,
    kind: span.kind,
    traceId,
    spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: { ...span.attributes },
    links: span.links.map(({ context }) => ({ traceId: context.traceId, spanId: context.spanId })),
    status: span.status.code,
    startNs: span.startTime[0] * 1e9 + span.startTime[1]
  }
}

const KIND_NAMES = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']

/**
 * The spans as an indented tree per trace, children in start order, with each span's kind, its
 * `superai.delivery.outcome` and `superai.delivery.attempt` when set, and its links by span name: the
 * picture of a trace the docs show, rendered from a test run rather than drawn.
 */
export function traceTree (records: readonly SpanRecord[]): string {
  const byId = new Map(records.map((record) => [record.spanId, record]))
  const children = (parent: string | undefined): SpanRecord[] => records
    .filter((record) => (parent === undefined ? record.parentSpanId === undefined || !byId.has(record.parentSpanId) : record.parentSpanId === parent))
    .sort((a, b) => a.startNs - b.startNs)
  const lines: string[] = []
  const draw = (record: SpanRecord, depth: number): void => {
    const facts = [KIND_NAMES[record.kind] ?? String(record.kind)]
    const outcome = record.attributes['superai.delivery.outcome']
    const attempt = record.attributes['superai.delivery.attempt']
    if (outcome !== undefined) facts.push(`outcome ${String(outcome)}`)
    if (attempt !== undefined) facts.push(`attempt ${String(attempt)}`)
    if (record.status === 2) facts.push('ERROR')
    for (const link of record.links) facts.push(`link -> ${byId.get(link.spanId)?.name ?? link.spanId}`)
    lines.push(`${'  '.repeat(depth)}${record.name} (${facts.join(', ')})`)
    for (const child of children(record.spanId)) draw(child, depth + 1)
  }
  const roots = children(undefined)
  for (const [index, root] of roots.entries()) {
    if (index > 0) lines.push('')
    lines.push(`trace ${root.traceId.slice(0, 8)}`)
    draw(root, 1)
  }
  return lines.join('\n')
}
