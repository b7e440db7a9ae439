import { ROOT_CONTEXT, context } from '@opentelemetry/api'
import tap, { test } from 'tap'
import { codes } from '../../src/errors.js'
import { NO_TELEMETRY } from '../../src/telemetry/noop.js'
import { openTelemetry } from '../../src/telemetry/telemetry.js'
import { otelHarness } from '../helpers/otel.js'

// a provider, a meter and a context manager registered as an app would: the option off must still make nothing
const otel = otelHarness()
tap.teardown(() => otel.close())

test('telemetry off: nothing is imported (a package that does not exist is never asked for)', async (t) => {
  const telemetry = await openTelemetry(false, '@opentelemetry/no-such-package')
  t.equal(telemetry, NO_TELEMETRY)
  t.equal(telemetry.enabled, false)
})

test('telemetry off: no span and no metric, with a provider registered; what it wraps runs as before', async (t) => {
  otel.reset()
  const telemetry = await openTelemetry(false)
  const user = (await import('@opentelemetry/api')).trace.getTracer('the-app')
  await user.startActiveSpan('submit', async (span) => {
    t.equal(telemetry.submissionAnchor(), undefined, 'no anchor stored')
    span.end()
  })
  otel.reset()
  const pass = telemetry.startReconcilePass()
  await pass.within(async () => {
    const delivery = telemetry.startDelivery({ source: 'http', key: 'k', request: {}, carrier: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` } })
    delivery.describe({ id: 1, uuid: 'u', state: 'COMPLETED', action: 'RESOLVED' } as never, 'k')
    delivery.link(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`)
    t.equal(delivery.within(() => 7), 7)
    t.equal(await delivery.runHandler('job.completed', async () => 'ran'), 'ran')
    const failure = new Error('handler')
    await t.rejects(delivery.runHandler('callback', async () => { throw failure }), failure)
    t.equal(await delivery.send(async (carrier) => carrier), undefined, 'no carrier for the job')
    const answer = await telemetry.apiCall({ method: 'GET', template: '/jobs/{uuid}', url: 'https://api.super.ai/v1/jobs/u' }, async () => 'body', () => 200)
    t.equal(answer, 'body')
    delivery.end('failed', failure)
  })
  pass.end({ listed: 1, dispatched: 1, duplicate: 0, failed: 1 })
  t.same(otel.spans(), [], 'no span')
  t.equal(await otel.metric('superai.callback.deliveries'), undefined, 'no delivery counted')
  t.equal(await otel.metric('superai.callback.handler.duration'), undefined, 'no duration recorded')
  t.equal(telemetry.startDelivery({ source: 'queue' }), telemetry.startDelivery({ source: 'http' }), 'one shared object: nothing allocated per delivery')
})

test('telemetry on: the API is loaded and spans reach the provider the app registered', async (t) => {
  otel.reset()
  const telemetry = await openTelemetry(true)
  t.equal(telemetry.enabled, true)
  context.with(ROOT_CONTEXT, () => telemetry.startDelivery({ source: 'http' }).end('processed'))
  t.equal(otel.spans().length, 1)
})

test('telemetry on without @opentelemetry/api: a coded error that says how to install it', async (t) => {
  const error = await openTelemetry(true, '@opentelemetry/no-such-package').then(() => undefined, (err: unknown) => err)
  t.ok(error instanceof codes.FST_SUPERAI_TELEMETRY_UNAVAILABLE)
  t.match(error, { code: 'FST_SUPERAI_TELEMETRY_UNAVAILABLE', message: /npm install @opentelemetry\/api.*not installed/ })
})

test('an API package that fails to load for another reason: its message is kept', async (t) => {
  const broken = 'data:text/javascript,throw new Error("the package is broken")'
  const error = await openTelemetry(true, broken).then(() => undefined, (err: unknown) => err)
  t.match(error, { code: 'FST_SUPERAI_TELEMETRY_UNAVAILABLE', message: /the package is broken/ })
})
