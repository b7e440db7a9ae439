import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import Fastify, { type FastifyInstance } from 'fastify'
import tap, { test, type Test } from 'tap'
import { stateChangeKey, submissionAnchorKey } from '../../src/delivery/idempotency-key.js'
import { createTracedClient } from '../../src/client/client.js'
import { MemoryStore, type JobStatesQuery, type MarkedClaimResult } from '../../src/index.js'
import { openTelemetry } from '../../src/telemetry/telemetry.js'
import { startFakeApi } from '../helpers/fake-api.js'
import superaiCallbacks, { type SuperaiCallbacksOptions } from '../../src/index.js'
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js'
import { REDIS_URL, cleanUpAtTeardown, testRedis, uniquePrefix } from '../helpers/callbacks.js'
import { isChildOf, otelHarness, pointOf, pointWith } from '../helpers/otel.js'
import type { Histogram } from '@opentelemetry/sdk-metrics'

// the real SDK, registered globally as an app would, with @fastify/otel in the same app as a user registers it
const otel = otelHarness()
tap.teardown(() => otel.close())

const APP_ID = 'telemetry-project'

async function sandboxFor (t: Test): Promise<Sandbox> {
  const sandbox = await createSandbox({ step: 0, duplicates: 0 })
  t.teardown(() => sandbox.close())
  return sandbox
}

/** @fastify/otel first, then the plugin, then a route that submits a job through `app.superai.api`. */
async function appWith (t: Test, sandbox: Sandbox, options: Partial<SuperaiCallbacksOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(otel.fastifyOtel.plugin())
  const keyPrefix = options.keyPrefix ?? uniquePrefix('otel')
  cleanUpAtTeardown(t, keyPrefix)
  await app.register(superaiCallbacks, { redis: REDIS_URL, ttl: 600, telemetry: true, api: { apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl }, ...options, keyPrefix } as SuperaiCallbacksOptions)
  app.post('/documents', async () => {
    const { uuid } = await app.superai.api.submitJobs(APP_ID, { inputs: [{ document: 'a.pdf' }] })
    return { uuid }
  })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

const postCallback = async (app: FastifyInstance, body: Record<string, unknown>): Promise<number> =>
  (await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: body })).statusCode

/** The one span matching `where`; fails the test's expectations clearly when there are none or several. */
function only (spans: readonly ReadableSpan[], where: (span: ReadableSpan) => boolean, what: string): ReadableSpan {
  const found = spans.filter(where)
  if (found.length !== 1) throw new Error(`${found.length} spans for ${what}: ${spans.map((span) => span.name).join(', ')}`)
  return found[0] as ReadableSpan
}

const linkIds = (span: ReadableSpan): string[] => span.links.map(({ context }) => context.spanId)

test('synchronous mode through the plugin: process span under @fastify/otel\'s request, verify and handler children, the submission link, metrics', async (t) => {
  otel.reset()
  const sandbox = await sandboxFor(t)
  const keyPrefix = uniquePrefix('otel')
  const app = await appWith(t, sandbox, { verify: true, keyPrefix })
  const handled: string[] = []
  app.superai.onJobCompleted(async (event) => { handled.push(event.uuid) })
  app.superai.onJobFailed(async () => { throw new Error('the handler broke') })
  const deliveriesBefore = pointOf<number>(await otel.metric('superai.callback.deliveries'), {
    'superai.delivery.outcome': 'processed', 'superai.delivery.source': 'http', 'superai.callback.event': 'job.completed'
  })?.value ?? 0

  // the submission, in a request of the app: the span active there is the anchor
  const submitted = await app.inject({ method: 'POST', url: '/documents' })
  const uuid = (submitted.json<{ uuid: string }>()).uuid
  t.type(uuid, 'string')
  const submit = only(otel.spans(), (span) => span.name === 'POST /v1/apps/{appId}/jobs', 'the submission')
  t.equal(submit.kind, SpanKind.CLIENT)
  t.equal(submit.attributes['http.request.method'], 'POST')
  t.equal(submit.attributes['url.template'], '/v1/apps/{appId}/jobs')
  t.equal(submit.attributes['http.response.status_code'], 200)
  t.equal(submit.attributes['server.address'], '127.0.0.1')
  const anchor = otel.spans().find((span) => isChildOf(submit, span))
  t.ok(anchor !== undefined && anchor.name.startsWith('handler'), 'the submission\'s CLIENT span is the child of the route\'s span, the anchor')
  otel.reset()

  sandbox.advance(uuid, 'COMPLETED')
  const body = { id: String(sandbox.job(uuid)?.id), uuid, state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false' }
  t.equal(await postCallback(app, body), 200)
  t.same(handled, [uuid])
  const request = only(otel.spans(), (span) => span.name === 'request', '@fastify/otel\'s request')
  const processSpan = otel.span('process superai.callback')
  t.equal(processSpan.kind, SpanKind.CONSUMER)
  t.ok(isChildOf(processSpan, request), 'the child of @fastify/otel\'s request span')
  t.match(processSpan.attributes, {
    'messaging.system': 'superai',
    'messaging.operation.type': 'process',
    'messaging.message.id': keyPrefix + stateChangeKey(uuid, 'COMPLETED'),
    'superai.job.uuid': uuid,
    'superai.job.id': body.id,
    'superai.job.state': 'COMPLETED',
    'superai.callback.action': 'RESOLVED',
    'superai.delivery.source': 'http',
    'superai.delivery.outcome': 'processed'
  })
  t.equal(processSpan.attributes['superai.delivery.attempt'], undefined, 'no attempt in synchronous mode')
  t.equal(processSpan.status.code, SpanStatusCode.UNSET)
  t.same(linkIds(processSpan), [anchor?.spanContext().spanId], 'linked to the span the job was submitted in')
  t.equal(processSpan.links[0]?.context.traceId, anchor?.spanContext().traceId)

  const verify = only(otel.spans(), (span) => span.name === 'GET /v1/jobs/{uuid}', 'verify\'s call')
  t.equal(verify.kind, SpanKind.CLIENT)
  t.ok(isChildOf(verify, processSpan), 'verify\'s call is the delivery\'s child')
  t.match(verify.attributes, { 'http.request.method': 'GET', 'url.template': '/v1/jobs/{uuid}', 'http.response.status_code': 200, 'server.address': '127.0.0.1' })
  const handler = otel.span('job.completed')
  t.equal(handler.kind, SpanKind.INTERNAL)
  t.ok(isChildOf(handler, processSpan), 'the handler run is the delivery\'s child')

  // a redelivery: duplicate, not an error, still linked
  otel.reset()
  t.equal(await postCallback(app, body), 200)
  const duplicate = otel.span('process superai.callback')
  t.equal(duplicate.attributes['superai.delivery.outcome'], 'duplicate')
  t.equal(duplicate.status.code, SpanStatusCode.UNSET, 'a duplicate is not an error')
  t.same(linkIds(duplicate), [anchor?.spanContext().spanId], 'the claim read the anchor on a duplicate too')

  // a handler failure: ERROR with the exception, on the handler's span and the delivery's
  otel.reset()
  sandbox.advance(uuid, 'FAILED')
  t.equal(await postCallback(app, { ...body, state: 'FAILED' }), 500)
  const failed = otel.span('process superai.callback')
  t.equal(failed.attributes['superai.delivery.outcome'], 'failed')
  t.equal(failed.status.code, SpanStatusCode.ERROR)
  t.equal(failed.attributes['error.type'], 'FST_SUPERAI_HANDLER_FAILED')
  t.ok(failed.events.some((event) => event.name === 'exception'), 'the exception is recorded')
  const failedHandler = otel.span('job.failed')
  t.ok(isChildOf(failedHandler, failed))
  t.equal(failedHandler.status.code, SpanStatusCode.ERROR)
  t.equal(failedHandler.events.find((event) => event.name === 'exception')?.attributes?.['exception.message'], 'the handler broke')

  // a callback verify refuses (no such job): refused, ERROR
  otel.reset()
  t.equal(await postCallback(app, { ...body, uuid: '7b2a35a4-1111-4222-8333-944455556666' }), 422)
  const refused = otel.span('process superai.callback')
  t.equal(refused.attributes['superai.delivery.outcome'], 'refused')
  t.equal(refused.status.code, SpanStatusCode.ERROR)
  t.same(refused.links, [], 'no link where nothing was submitted')
  const missing = otel.span('GET /v1/jobs/{uuid}')
  t.equal(missing.attributes['http.response.status_code'], 404)
  t.equal(missing.status.code, SpanStatusCode.ERROR)

  const deliveries = await otel.metric('superai.callback.deliveries')
  t.equal(pointOf<number>(deliveries, { 'superai.delivery.outcome': 'processed', 'superai.delivery.source': 'http', 'superai.callback.event': 'job.completed' })?.value, deliveriesBefore + 1)
  t.equal(pointOf<number>(deliveries, { 'superai.delivery.outcome': 'duplicate', 'superai.delivery.source': 'http', 'superai.callback.event': 'job.completed' })?.value, 1)
  t.ok(pointWith<number>(deliveries, { 'superai.delivery.outcome': 'failed', 'superai.callback.event': 'job.failed' }) !== undefined)
  const duration = await otel.metric('superai.callback.handler.duration')
  t.equal(duration?.descriptor.unit, 's')
  t.ok((pointWith<Histogram>(duration, { 'superai.callback.event': 'job.completed', 'superai.delivery.source': 'http' })?.value.count ?? 0) >= 1)
  t.ok(pointWith<Histogram>(duration, { 'superai.callback.event': 'job.failed', 'error.type': 'Error' }) !== undefined, 'a failed run is recorded with its error type')
})

test('a reconciliation pass is a span with its counts, the parent of its listing call and of what it dispatches', async (t) => {
  otel.reset()
  const sandbox = await sandboxFor(t)
  const job = sandbox.addJob({ appId: APP_ID, status: 'COMPLETED', completedAt: new Date().toISOString() })
  const app = await appWith(t, sandbox, { reconcile: { appIds: [APP_ID], interval: 3600 } })
  const seen: string[] = []
  app.superai.onJobCompleted(async (event) => { seen.push(event.uuid) })
  const summary = await app.superai.reconcile()
  const pass = otel.spans().filter((span) => span.name === 'reconcile superai.callback').at(-1)
  t.ok(pass !== undefined, 'a pass span')
  if (pass === undefined) return
  t.match(pass.attributes, { 'superai.reconcile.listed': summary.listed, 'superai.reconcile.dispatched': summary.dispatched })
  const listing = otel.spans().filter((span) => span.name === 'GET /v1/apps/{appId}/jobs' && isChildOf(span, pass))
  t.ok(listing.length >= 1, 'the listing call is the pass\'s child')
  t.ok(summary.dispatched >= 1 && seen.includes(job.uuid), 'the pass dispatched the job')
  const delivery = otel.spans().find((span) => span.name === 'process superai.callback' && span.attributes['superai.job.uuid'] === job.uuid)
  t.ok(delivery !== undefined && isChildOf(delivery, pass), 'what it dispatches is its child')
  t.equal(delivery?.attributes['superai.delivery.source'], 'reconcile')
})

test('telemetry off: no span of the plugin\'s, even with a provider registered', async (t) => {
  otel.reset()
  const sandbox = await sandboxFor(t)
  const app = await appWith(t, sandbox, { telemetry: false, verify: true })
  app.superai.onJobCompleted(async () => {})
  const { uuid } = (await app.inject({ method: 'POST', url: '/documents' })).json<{ uuid: string }>()
  sandbox.advance(uuid, 'COMPLETED')
  t.equal(await postCallback(app, { id: String(sandbox.job(uuid)?.id), uuid, state: 'COMPLETED', action: 'RESOLVED' }), 200)
  const names = otel.spans().map((span) => span.name)
  t.ok(names.includes('request'), '@fastify/otel still traces the requests')
  t.same(names.filter((name) => !name.startsWith('request') && !name.startsWith('handler') && !name.startsWith('hook')), [], `only @fastify/otel's spans: ${names.join(', ')}`)
})

test('a submission of several inputs: its batch\'s v2 callback links; the anchor lives for ttl under the job\'s tag', async (t) => {
  otel.reset()
  const sandbox = await sandboxFor(t)
  const keyPrefix = uniquePrefix('otel-batch')
  const app = await appWith(t, sandbox, { keyPrefix })
  app.superai.onBatchCompleted(async () => {})
  const tracer = trace.getTracer('test')
  const { batchId, submitSpan } = await tracer.startActiveSpan('submit documents', async (span) => {
    const result = await app.superai.api.submitJobs(APP_ID, { inputs: [{ document: 'a.pdf' }, { document: 'b.pdf' }] })
    span.end()
    return { batchId: String(result.batchId), submitSpan: span }
  })
  const redis = testRedis()
  t.teardown(() => redis.quit())
  const pttl = await redis.pttl(keyPrefix + submissionAnchorKey(batchId))
  t.ok(pttl > 590_000 && pttl <= 600_000, `the anchor expires with ttl (${pttl} ms)`)
  t.equal(await redis.get(keyPrefix + submissionAnchorKey(batchId)), `00-${submitSpan.spanContext().traceId}-${submitSpan.spanContext().spanId}-01`)
  t.equal(await postCallback(app, { version: '2', entityType: 'batch', entityId: batchId, state: 'COMPLETED' }), 200)
  const delivery = otel.span('process superai.callback')
  t.match(delivery.attributes, { 'superai.entity.type': 'batch', 'superai.entity.id': batchId, 'superai.delivery.outcome': 'processed' })
  t.same(linkIds(delivery), [submitSpan.spanContext().spanId], 'the batch callback links to the submission')
})

test('telemetry off: the submission stores nothing and the claim reads no anchor', async (t) => {
  const sandbox = await sandboxFor(t)
  const queries: Array<JobStatesQuery | undefined> = []
  class Spy extends MemoryStore {
    override async claimAndRead (key: string, token: string, leaseMs: number, query: JobStatesQuery): Promise<MarkedClaimResult> {
      queries.push(query)
      return await super.claimAndRead(key, token, leaseMs, query)
    }
  }
  for (const telemetry of [false, true]) {
    queries.length = 0
    const store = new Spy()
    const app = Fastify()
    await app.register(superaiCallbacks, { store, telemetry, api: { apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl } })
    t.teardown(() => app.close())
    const { uuid } = await trace.getTracer('test').startActiveSpan('submit', async (span) => {
      try { return await app.superai.api.submitJobs(APP_ID, { inputs: [{ document: 'a.pdf' }] }) } finally { span.end() }
    })
    t.equal(await store.read('superai:callbacks:' + submissionAnchorKey(String(uuid))) !== undefined, telemetry, `telemetry ${String(telemetry)}: anchor stored`)
    t.equal(await postCallback(app, { id: '1', uuid, state: 'COMPLETED', action: 'RESOLVED' }), 200)
    t.equal(queries.some((query) => query?.anchorKey !== undefined), telemetry, `telemetry ${String(telemetry)}: the claim reads the anchor`)
  }
})

test('a retried API call: a CLIENT span per attempt, the resend counted', async (t) => {
  otel.reset()
  const api = await startFakeApi((_request, index) => index === 0 ? { status: 503, body: { message: 'busy' } } : { status: 200, body: { uuid: 'u', status: 'COMPLETED' } })
  t.teardown(() => api.close())
  const client = createTracedClient({ apiKey: 'k', baseUrl: api.baseUrl, retryDelay: 1 }, (await openTelemetry(true)).apiCall)
  await client.getJob('5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f12')
  const calls = otel.spans().filter((span) => span.name === 'GET /v1/jobs/{uuid}')
  t.same(calls.map((span) => span.attributes['http.response.status_code']), [503, 200])
  t.same(calls.map((span) => span.attributes['http.request.resend_count']), [undefined, 1])
  t.same(calls.map((span) => span.status.code), [SpanStatusCode.ERROR, SpanStatusCode.UNSET])
})

test('a delivery answered in flight (409) is not an error', async (t) => {
  otel.reset()
  const app = Fastify()
  await app.register(superaiCallbacks, { telemetry: true })
  t.teardown(() => app.close())
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  app.superai.onJobCompleted(async () => { await held })
  await app.ready()
  const body = { id: '1', uuid: '5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f12', state: 'COMPLETED', action: 'RESOLVED' }
  const first = postCallback(app, body)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(await postCallback(app, body), 409)
  release()
  t.equal(await first, 200)
  const outcomes = otel.spans().filter((span) => span.name === 'process superai.callback')
    .map((span) => [span.attributes['superai.delivery.outcome'], span.status.code])
  t.same(outcomes, [['in-flight', SpanStatusCode.UNSET], ['processed', SpanStatusCode.UNSET]])
})
