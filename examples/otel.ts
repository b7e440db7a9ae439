/**
 * OpenTelemetry, printed to the console: the Node tracing SDK (its AsyncLocalStorage context manager
 * and W3C propagator), a meter provider, and `@fastify/otel` registered before the routes, as its
 * README asks; the plugin with `telemetry: true` adds a `process superai.callback` span per delivery
 * (the child of @fastify/otel's request span), a span per handler run, and its two metrics. In
 * production, swap the console exporters for OTLP ones (or use `@opentelemetry/sdk-node`).
 *
 *   npm install @opentelemetry/api @opentelemetry/sdk-trace-node @opentelemetry/sdk-metrics @fastify/otel
 */
import { randomUUID } from 'node:crypto'
import { metrics } from '@opentelemetry/api'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { ConsoleSpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node'
import Fastify from 'fastify'
import superaiCallbacks from '../src/index.js'

const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] })
tracerProvider.register()
const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 10_000 })]
})
metrics.setGlobalMeterProvider(meterProvider)
const fastifyOtel = new FastifyOtelInstrumentation()
fastifyOtel.setTracerProvider(tracerProvider)

const app = Fastify({ logger: { level: 'warn' } })
await app.register(fastifyOtel.plugin())
await app.register(superaiCallbacks, { telemetry: true })
app.superai.onJobCompleted(async (event, { log }) => { log.warn({ uuid: event.uuid }, 'job completed') })
app.addHook('onClose', async () => { await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]) })

const port = Number(process.env.PORT ?? 3000)
await app.listen({ port, host: '127.0.0.1' })
// one callback now, so that a trace is printed at once
const body = { id: '1', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false' }
const answer = await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: body })
console.log(`\na callback answered ${answer.statusCode}; its spans are printed above. Send more with:\n`)
console.log(`curl -i -X POST http://127.0.0.1:${port}/superai/callbacks/ -H 'content-type: application/json' -d '${JSON.stringify({ ...body, uuid: randomUUID() })}'\n`)
