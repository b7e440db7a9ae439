/**
 * Metrics without the plugin knowing your metrics library: subscribe to its diagnostics channels and
 * map them to prom-client. `GET /metrics` is what Prometheus scrapes. (OpenTelemetry users: the
 * `fastify-superai-callbacks:handle` TracingChannel carries start/end/error of every handler run, which
 * a span processor can wrap; `@fastify/otel` already gives the request span around it in sync mode.)
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import Fastify from 'fastify'
import { Counter, Histogram, Registry } from 'prom-client'
import superaiCallbacks, { DELIVERY_CHANNEL, HANDLE_CHANNEL, type DeliveryMessage, type HandleMessage } from '../src/index.js'

const registry = new Registry()
const deliveries = new Counter({
  name: 'superai_callback_deliveries_total',
  help: 'super.AI callback deliveries by outcome (processed, duplicate, inFlight, failed, rejected, ...)',
  labelNames: ['outcome', 'source', 'state'] as const,
  registers: [registry]
})
const deliveryDuration = new Histogram({
  name: 'superai_callback_delivery_seconds',
  help: 'Time from a validated body to its outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  registers: [registry]
})
const handlerErrors = new Counter({
  name: 'superai_callback_handler_errors_total', help: 'Handler runs that threw', registers: [registry]
})

diagnosticsChannel.subscribe(DELIVERY_CHANNEL, (message) => {
  const { outcome, source, state, durationMs } = message as DeliveryMessage
  deliveries.inc({ outcome, source, state: state ?? 'none' })
  deliveryDuration.observe({ outcome }, durationMs / 1000)
})
diagnosticsChannel.tracingChannel<string, HandleMessage>(HANDLE_CHANNEL).subscribe({
  start () {},
  end () {},
  asyncStart () {},
  asyncEnd () {},
  error () { handlerErrors.inc() }
})

const app = Fastify({ logger: true })
await app.register(superaiCallbacks) // in-memory store; add `redis` in production
app.superai.onJobCompleted(async (event, { log }) => { log.info({ uuid: event.uuid }, 'job completed') })
app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()))

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
