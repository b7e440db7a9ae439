import { SpanKind, trace } from '@opentelemetry/api'
import Fastify from 'fastify'
import tap, { test } from 'tap'
import { openTelemetry } from '../../src/telemetry/telemetry.js'
import { isChildOf, otelHarness } from '../helpers/otel.js'

// @fastify/otel registered as its README says, on the SDK the harness registers (the wiring's tests use the same)
const otel = otelHarness()
tap.teardown(() => otel.close())

async function appWith (route: (request: object) => unknown, withFastifyOtel = true): Promise<ReturnType<typeof Fastify>> {
  const app = Fastify()
  if (withFastifyOtel) await app.register(otel.fastifyOtel.plugin())
  app.post('/callback', async (request) => route(request))
  await app.ready()
  return app
}

test('the harness: @fastify/otel\'s request span (SERVER) is active in a plain route', async (t) => {
  otel.reset()
  let active: string | undefined
  const app = await appWith(() => {
    active = trace.getActiveSpan()?.spanContext().spanId
    return { ok: true }
  })
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'POST', url: '/callback', payload: {} })
  t.equal(response.statusCode, 200)
  const request = otel.span('request')
  t.equal(request.kind, SpanKind.SERVER)
  t.equal(request.attributes['http.route'], '/callback')
  const handler = otel.spans().find((span) => span.name.startsWith('handler'))
  t.ok(handler !== undefined && isChildOf(handler, request), '@fastify/otel wraps the handler in a child span')
  t.equal(active, handler?.spanContext().spanId, 'which is the active span in the route')
})

test('a synchronous delivery\'s span is the child of @fastify/otel\'s request span itself', async (t) => {
  otel.reset()
  const telemetry = await openTelemetry(true)
  const app = await appWith((request) => {
    telemetry.startDelivery({ source: 'http', request }).end('processed')
    return { ok: true }
  })
  t.teardown(() => app.close())
  await app.inject({ method: 'POST', url: '/callback', payload: {} })
  t.ok(isChildOf(otel.span('process superai.callback'), otel.span('request')))
})

test('without @fastify/otel, the delivery\'s parent is whatever span is active (an HTTP server instrumentation\'s)', async (t) => {
  otel.reset()
  const telemetry = await openTelemetry(true)
  const app = await appWith(async (request) => {
    return await trace.getTracer('http-server').startActiveSpan('POST', (span) => {
      telemetry.startDelivery({ source: 'http', request }).end('processed')
      span.end()
      return { ok: true }
    })
  }, false)
  t.teardown(() => app.close())
  await app.inject({ method: 'POST', url: '/callback', payload: {} })
  t.ok(isChildOf(otel.span('process superai.callback'), otel.span('POST')))
})
