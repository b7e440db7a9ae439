/**
 * An OpenTelemetry SDK registered as an app would (AsyncLocalStorage context manager, W3C propagator, a
 * tracer provider sampling every span into a batch processor, a meter provider with a reader), exporting
 * nowhere: what the plugin's spans and metrics cost the server, without the cost of a network exporter.
 * Imported by bench/servers/plugin-redis.ts when BENCH_OTEL is set.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator, type ExportResult, ExportResultCode } from '@opentelemetry/core'
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'

const spanSink: SpanExporter = {
  export (_spans: ReadableSpan[], done: (result: ExportResult) => void) { done({ code: ExportResultCode.SUCCESS }) },
  async shutdown () {}
}
const metricSink: PushMetricExporter = {
  export (_metrics: ResourceMetrics, done: (result: ExportResult) => void) { done({ code: ExportResultCode.SUCCESS }) },
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  async forceFlush () {},
  async shutdown () {}
}

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanSink)] }))
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricSink, exportIntervalMillis: 10_000 })] }))
