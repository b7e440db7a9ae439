import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api'
import type { Histogram } from '@opentelemetry/sdk-metrics'
import tap, { test } from 'tap'
import type { DeliveryOutcome } from '../../src/observability.js'
import type { AnySuperaiEvent } from '../../src/schema.js'
import { openTelemetry, type Telemetry, type TraceCarrier } from '../../src/telemetry/telemetry.js'
import { isChildOf, otelHarness, pointOf, pointWith, spanRecord, traceTree } from '../helpers/otel.js'

const otel = otelHarness()
let telemetry: Telemetry
const user = trace.getTracer('the-app')

test('set-up', async () => { telemetry = await openTelemetry(true) })
tap.teardown(() => otel.close())

const jobEvent = (state = 'COMPLETED', action = 'RESOLVED'): AnySuperaiEvent =>
  ({ id: 42, uuid: '0b5c2b6e-8f62-4b0b-9a36-6a1f2f0e7d11', state, action }) as unknown as AnySuperaiEvent
const batchEvent = (): AnySuperaiEvent =>
  ({ version: '2', entityType: 'batch', entityId: 'b-7', state: 'COMPLETED' }) as unknown as AnySuperaiEvent

/** Runs `run` inside a user span of the app's own tracer, which is ended afterwards. */
async function inUserSpan<T> (name: string, run: (span: Span) => Promise<T>): Promise<T> {
  return await user.startActiveSpan(name, async (span) => {
    try { return await run(span) } finally { span.end() }
  })
}

test('a delivery is a CONSUMER span `process superai.callback`, child of the active span, with the SPEC attributes', async (t) => {
  otel.reset()
  await inUserSpan('request', async () => {
    const delivery = telemetry.startDelivery({ source: 'http', event: jobEvent(), key: 'superai:k1' })
    delivery.end('processed')
  })
  const span = otel.span('process superai.callback')
  t.equal(span.kind, SpanKind.CONSUMER)
  t.ok(isChildOf(span, otel.span('request')), 'child of the active span')
  t.same(span.attributes, {
    'messaging.system': 'superai',
    'messaging.operation.type': 'process',
    'messaging.destination.name': 'superai.callback',
    'messaging.message.id': 'superai:k1',
    'superai.job.uuid': '0b5c2b6e-8f62-4b0b-9a36-6a1f2f0e7d11',
    'superai.job.id': 42,
    'superai.job.state': 'COMPLETED',
    'superai.callback.action': 'RESOLVED',
    'superai.delivery.source': 'http',
    'superai.delivery.outcome': 'processed'
  })
  t.equal(span.status.code, SpanStatusCode.UNSET)
  t.equal(span.instrumentationScope.name, 'fastify-superai-callbacks')
})

test('a callback described after the start (HTTP: once validated); a v2 callback names its entity', async (t) => {
  otel.reset()
  const delivery = telemetry.startDelivery({ source: 'reconcile' })
  delivery.describe(batchEvent(), 'superai:batch')
  delivery.end('duplicate')
  const span = otel.span('process superai.callback')
  t.match(span.attributes, { 'superai.entity.type': 'batch', 'superai.entity.id': 'b-7', 'messaging.message.id': 'superai:batch', 'superai.delivery.source': 'reconcile' })
  t.notOk('superai.job.uuid' in span.attributes, 'no job attributes for a v2 callback')
  t.notOk('superai.delivery.attempt' in span.attributes, 'an attempt only in queue mode')
  t.equal(span.parentSpanContext, undefined, 'no active span: a root span')
})

test('each outcome in the attribute\'s words; failures and refusals are ERROR with the exception, the rest are not errors', async (t) => {
  const expected: Record<DeliveryOutcome, [string, boolean]> = {
    processed: ['processed', false],
    queued: ['queued', false],
    duplicate: ['duplicate', false],
    superseded: ['superseded', false],
    inFlight: ['in-flight', false],
    failed: ['failed', true],
    rejected: ['refused', true],
    storeUnavailable: ['store-unavailable', true],
    verifyUnavailable: ['refused', true],
    error: ['failed', true]
  }
  for (const [outcome, [said, isError]] of Object.entries(expected) as Array<[DeliveryOutcome, [string, boolean]]>) {
    otel.reset()
    const error = isError ? Object.assign(new Error(`because ${outcome}`), { code: 'FST_SUPERAI_X' }) : undefined
    telemetry.startDelivery({ source: 'http', event: jobEvent(), key: 'k' }).end(outcome, error)
    const span = otel.span('process superai.callback')
    t.equal(span.attributes['superai.delivery.outcome'], said, `${outcome}: ${said}`)
    t.equal(span.status.code, isError ? SpanStatusCode.ERROR : SpanStatusCode.UNSET, `${outcome}: ${isError ? 'ERROR' : 'not an error'}`)
    t.equal(span.events.filter((event) => event.name === 'exception').length, isError ? 1 : 0, `${outcome}: exception recorded or not`)
    if (isError) {
      t.equal(span.attributes['error.type'], 'FST_SUPERAI_X')
      t.equal(span.events[0]?.attributes?.['exception.message'], `because ${outcome}`)
    }
  }
  otel.reset()
  telemetry.startDelivery({ source: 'http' }).end('storeUnavailable')
  const span = otel.span('process superai.callback')
  t.equal(span.status.code, SpanStatusCode.ERROR, 'ERROR without an error object too')
  t.equal(span.attributes['error.type'], 'store-unavailable', 'error.type: the outcome')
})

test('a span ends once, and counts once', async (t) => {
  otel.reset()
  const attributes = { 'superai.delivery.outcome': 'superseded', 'superai.delivery.source': 'queue', 'superai.callback.event': 'job.completed' }
  const before = pointOf<number>(await otel.metric('superai.callback.deliveries'), attributes)?.value ?? 0
  const delivery = telemetry.startDelivery({ source: 'queue', event: jobEvent(), key: 'k', attempt: 1 })
  delivery.end('superseded')
  delivery.end('failed', new Error('late'))
  t.equal(otel.spans().length, 1)
  t.equal(otel.span('process superai.callback').attributes['superai.delivery.outcome'], 'superseded')
  const after = pointOf<number>(await otel.metric('superai.callback.deliveries'), attributes)?.value
  t.equal(after, before + 1)
})

test('a handler run is an INTERNAL child named by its event, active while it runs; its failure is recorded', async (t) => {
  otel.reset()
  const delivery = telemetry.startDelivery({ source: 'http', event: jobEvent(), key: 'k' })
  const answer = await delivery.runHandler('job.completed', async () => {
    user.startSpan('inside the handler').end()
    await new Promise((resolve) => setImmediate(resolve))
    user.startSpan('after an await').end()
    return 'answer'
  })
  t.equal(answer, 'answer', 'the handler\'s result is returned')
  const failure = new Error('handler broke')
  await t.rejects(delivery.runHandler('callback', async () => { throw failure }), failure, 'the handler\'s error is thrown on')
  delivery.end('failed', failure)

  const process = otel.span('process superai.callback')
  const handler = otel.span('job.completed')
  t.equal(handler.kind, SpanKind.INTERNAL)
  t.ok(isChildOf(handler, process), 'child of the delivery')
  t.same(handler.attributes, { 'superai.callback.event': 'job.completed', 'superai.delivery.source': 'http' })
  t.equal(handler.status.code, SpanStatusCode.UNSET)
  t.ok(isChildOf(otel.span('inside the handler'), handler), 'a user span in the handler nests under it')
  t.ok(isChildOf(otel.span('after an await'), handler), 'and after an await')
  const broken = otel.span('callback')
  t.ok(isChildOf(broken, process))
  t.equal(broken.status.code, SpanStatusCode.ERROR)
  t.equal(broken.status.message, 'handler broke')
  t.equal(broken.attributes['error.type'], 'Error')
  t.equal(broken.events[0]?.name, 'exception')
  t.equal(process.status.code, SpanStatusCode.ERROR)
})

test('the histogram superai.callback.handler.duration: one point per run, in seconds, by event (and error.type)', async (t) => {
  const before = pointWith<Histogram>(await otel.metric('superai.callback.handler.duration'), { 'superai.callback.event': 'job.failed' })?.value.count ?? 0
  const delivery = telemetry.startDelivery({ source: 'queue', event: jobEvent('FAILED'), key: 'k', attempt: 1 })
  await delivery.runHandler('job.failed', async () => await new Promise((resolve) => setTimeout(resolve, 20)))
  delivery.end('processed')
  const metric = await otel.metric('superai.callback.handler.duration')
  t.equal(metric?.descriptor.unit, 's')
  const point = pointWith<Histogram>(metric, { 'superai.callback.event': 'job.failed', 'superai.delivery.source': 'queue' })
  t.equal(point?.value.count, before + 1)
  t.ok((point?.value.max ?? 0) >= 0.015 && (point?.value.max ?? 1) < 5, `a 20 ms run recorded in seconds (${point?.value.max})`)
  const failedPoint = pointWith<Histogram>(metric, { 'superai.callback.event': 'callback', 'error.type': 'Error' })
  t.ok(failedPoint !== undefined && failedPoint.value.count >= 1, 'a failed run carries error.type')
})

test('the counter superai.callback.deliveries by outcome, source and event', async (t) => {
  const attributes = { 'superai.delivery.outcome': 'in-flight', 'superai.delivery.source': 'http', 'superai.callback.event': 'job.edited' }
  const before = pointOf<number>(await otel.metric('superai.callback.deliveries'), attributes)?.value ?? 0
  telemetry.startDelivery({ source: 'http', event: jobEvent('COMPLETED', 'EDITED'), key: 'k' }).end('inFlight')
  telemetry.startDelivery({ source: 'http', event: jobEvent('COMPLETED', 'EDITED'), key: 'k' }).end('inFlight')
  const metric = await otel.metric('superai.callback.deliveries')
  t.equal(pointOf<number>(metric, attributes)?.value, before + 2)
  telemetry.startDelivery({ source: 'reconcile', event: batchEvent() }).end('processed')
  telemetry.startDelivery({ source: 'http' }).end('rejected')
  const again = await otel.metric('superai.callback.deliveries')
  t.equal(pointOf<number>(again, { 'superai.delivery.outcome': 'processed', 'superai.callback.event': 'batch.completed', 'superai.delivery.source': 'reconcile' })?.value, 1)
  t.equal(pointOf<number>(again, { 'superai.delivery.outcome': 'refused', 'superai.delivery.source': 'http' })?.value, 1, 'a delivery refused before parsing: no event')
})

test('queue mode: the receiver\'s span, its PRODUCER child and each try\'s span in the worker are one trace', async (t) => {
  otel.reset()
  let carried: TraceCarrier | undefined
  const receiver = telemetry.startDelivery({ source: 'http', event: jobEvent(), key: 'superai:q1' })
  const jobId = await receiver.send(async (carrier) => {
    carried = carrier
    user.startSpan('queue.add').end()
    return 'job-1'
  })
  receiver.end('queued')
  t.equal(jobId, 'job-1')
  // the job's data goes through Redis as JSON, and the worker may be another machine: no active span there
  const data = JSON.parse(JSON.stringify({ body: {}, otel: carried })) as { otel: unknown }
  for (const attempt of [1, 2]) {
    await context.with(ROOT_CONTEXT, async () => {
      const worker = telemetry.startDelivery({ source: 'queue', event: jobEvent(), key: 'superai:q1', attempt, carrier: data.otel })
      await worker.runHandler('job.completed', async () => {})
      worker.end(attempt === 1 ? 'failed' : 'processed', attempt === 1 ? new Error('try 1') : undefined)
    })
  }
  const receiving = otel.spans().find((span) => span.name === 'process superai.callback' && span.attributes['superai.delivery.outcome'] === 'queued')
  const send = otel.span('send superai.callbacks')
  const tries = otel.spans().filter((span) => span.name === 'process superai.callback' && span.attributes['superai.delivery.source'] === 'queue')
  t.ok(receiving !== undefined)
  if (receiving === undefined) return
  t.equal(send.kind, SpanKind.PRODUCER)
  t.ok(isChildOf(send, receiving), 'send is the receiver span\'s child')
  t.same(send.attributes, {
    'messaging.system': 'superai',
    'messaging.operation.type': 'send',
    'messaging.destination.name': 'superai.callbacks',
    'messaging.message.id': 'superai:q1'
  })
  t.ok(isChildOf(otel.span('queue.add'), send), 'the send span is active while the job is added')
  t.equal(carried?.traceparent, `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`, 'the carrier names the send span')
  t.same(tries.map((span) => span.attributes['superai.delivery.attempt']), [1, 2], 'a span per try, with its attempt')
  for (const span of tries) {
    t.ok(isChildOf(span, send), `try ${span.attributes['superai.delivery.attempt']}: child of the send span`)
    t.equal(span.spanContext().traceId, receiving.spanContext().traceId, 'one trace')
    t.equal(span.parentSpanContext?.isRemote, true)
  }
  t.equal(tries[0]?.status.code, SpanStatusCode.ERROR)
  t.equal(tries[1]?.status.code, SpanStatusCode.UNSET)
})

test('queue mode: under BullMQ\'s own span of the same trace the try nests in it; another trace\'s span does not capture it', async (t) => {
  otel.reset()
  const receiver = telemetry.startDelivery({ source: 'http', event: jobEvent(), key: 'k' })
  const carrier = await receiver.send(async (carrier) => carrier)
  receiver.end('queued')
  const send = otel.span('send superai.callbacks')
  // what BullMQ's telemetry does: a `process` span whose parent is the context the job carries
  const carriedContext = trace.setSpanContext(ROOT_CONTEXT, { ...send.spanContext(), isRemote: true })
  const bullmqSpan = user.startSpan('process superai-callbacks', { kind: SpanKind.CONSUMER }, carriedContext)
  context.with(trace.setSpan(ROOT_CONTEXT, bullmqSpan), () => {
    telemetry.startDelivery({ source: 'queue', carrier, attempt: 1 }).end('processed')
  })
  bullmqSpan.end()
  const nested = otel.spans().find((span) => span.attributes['superai.delivery.source'] === 'queue')
  t.ok(nested !== undefined && isChildOf(nested, bullmqSpan), 'child of BullMQ\'s process span')

  otel.reset()
  await inUserSpan('a worker\'s unrelated span', async () => {
    telemetry.startDelivery({ source: 'queue', carrier, attempt: 2 }).end('processed')
  })
  const own = otel.span('process superai.callback')
  t.equal(own.parentSpanContext?.spanId, send.spanContext().spanId, 'the carried context wins over another trace')
})

test('a malformed or missing carrier is ignored: the try starts where it is', async (t) => {
  for (const carrier of [undefined, null, 'x', {}, { traceparent: '00-xyz' }, { traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01` }]) {
    otel.reset()
    context.with(ROOT_CONTEXT, () => telemetry.startDelivery({ source: 'queue', carrier, attempt: 1 }).end('processed'))
    t.equal(otel.span('process superai.callback').parentSpanContext, undefined, `${JSON.stringify(carrier)}: a root span`)
  }
})

test('a tracestate travels with the carrier', async (t) => {
  otel.reset()
  const state = 'vendor=abc'
  const parent = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1, isRemote: true })
  const withState = trace.setSpanContext(ROOT_CONTEXT, { ...parent.spanContext(), traceState: (await import('@opentelemetry/api')).createTraceState(state) })
  const carrier = await context.with(withState, async () => {
    const receiver = telemetry.startDelivery({ source: 'http' })
    const carried = await receiver.send(async (carrier) => carrier)
    receiver.end('queued')
    return carried
  })
  t.equal(carrier?.tracestate, state)
  context.with(ROOT_CONTEXT, () => telemetry.startDelivery({ source: 'queue', carrier, attempt: 1 }).end('processed'))
  const tries = otel.spans().filter((span) => span.attributes['superai.delivery.source'] === 'queue')
  t.equal(tries[0]?.spanContext().traceState?.serialize(), state, 'the try\'s span keeps it')
})

test('submission to completion: the anchor of the span a job was submitted in becomes a link of its callback\'s span', async (t) => {
  otel.reset()
  const anchor = await inUserSpan('submit jobs', async () => telemetry.submissionAnchor())
  const submit = otel.span('submit jobs')
  t.equal(anchor, `00-${submit.spanContext().traceId}-${submit.spanContext().spanId}-01`)
  t.equal(anchor?.length, 55, 'what is stored per submitted job: 55 characters')

  // hours later, elsewhere: given at the start (queue mode, known with the job), or learnt after the claim
  context.with(ROOT_CONTEXT, () => telemetry.startDelivery({ source: 'queue', attempt: 1, submission: anchor }).end('processed'))
  const late = context.with(ROOT_CONTEXT, () => telemetry.startDelivery({ source: 'http' }))
  late.link(anchor)
  late.link(undefined)
  late.link('not a traceparent')
  late.end('processed')
  const spans = otel.spans().filter((span) => span.name === 'process superai.callback')
  t.equal(spans.length, 2)
  for (const span of spans) {
    t.equal(span.links.length, 1, `${String(span.attributes['superai.delivery.source'])}: one link`)
    t.equal(span.links[0]?.context.traceId, submit.spanContext().traceId)
    t.equal(span.links[0]?.context.spanId, submit.spanContext().spanId)
    t.not(span.spanContext().traceId, submit.spanContext().traceId, 'a trace of its own, linked')
  }
})

test('no anchor without an active, sampled span', async (t) => {
  t.equal(context.with(ROOT_CONTEXT, () => telemetry.submissionAnchor()), undefined, 'no span')
  const unsampled = trace.wrapSpanContext({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 0 })
  t.equal(context.with(trace.setSpan(ROOT_CONTEXT, unsampled), () => telemetry.submissionAnchor()), undefined, 'not sampled')
})

test('a reconciliation pass is a span with its counts; what it dispatches are its children', async (t) => {
  otel.reset()
  const pass = context.with(ROOT_CONTEXT, () => telemetry.startReconcilePass())
  await pass.within(async () => {
    await new Promise((resolve) => setImmediate(resolve))
    telemetry.startDelivery({ source: 'reconcile', event: jobEvent() }).end('processed')
    await telemetry.apiCall({ method: 'GET', template: '/apps/{app}/jobs', url: 'https://api.super.ai/v1/apps/a1/jobs?page=1' }, async () => ({ status: 200 }), (result) => result.status)
  })
  pass.end({ listed: 12, dispatched: 1, duplicate: 10, failed: 1 })
  const span = otel.span('reconcile superai.callback')
  t.equal(span.kind, SpanKind.INTERNAL)
  t.same(span.attributes, { 'superai.reconcile.listed': 12, 'superai.reconcile.dispatched': 1, 'superai.reconcile.duplicate': 10, 'superai.reconcile.failed': 1 })
  t.equal(span.status.code, SpanStatusCode.UNSET)
  t.ok(isChildOf(otel.span('process superai.callback'), span), 'the dispatched delivery')
  t.ok(isChildOf(otel.span('GET /apps/{app}/jobs'), span), 'the list call')

  otel.reset()
  const broken = telemetry.startReconcilePass()
  broken.end({ listed: 0, dispatched: 0, duplicate: 0, failed: 1 }, new Error('API down'))
  t.equal(otel.span('reconcile superai.callback').status.code, SpanStatusCode.ERROR)
})

test('a super.AI API call is a CLIENT span `{METHOD} {url.template}` with the HTTP client attributes', async (t) => {
  otel.reset()
  const delivery = telemetry.startDelivery({ source: 'http', event: jobEvent(), key: 'k' })
  const body = await delivery.within(async () => await telemetry.apiCall(
    { method: 'GET', template: '/jobs/{uuid}', url: 'https://api.super.ai/v1/jobs/0b5c2b6e' },
    async () => { user.startSpan('fetch').end(); return { status: 200, body: 'job' } },
    (answer) => answer.status))
  delivery.end('processed')
  t.same(body, { status: 200, body: 'job' })
  const span = otel.span('GET /jobs/{uuid}')
  t.equal(span.kind, SpanKind.CLIENT)
  t.ok(isChildOf(span, otel.span('process superai.callback')), 'verify\'s call: a child of the delivery')
  t.ok(isChildOf(otel.span('fetch'), span), 'the request runs inside it')
  t.same(span.attributes, {
    'http.request.method': 'GET',
    'url.template': '/jobs/{uuid}',
    'url.full': 'https://api.super.ai/v1/jobs/0b5c2b6e',
    'server.address': 'api.super.ai',
    'server.port': 443,
    'http.response.status_code': 200
  })
  t.equal(span.status.code, SpanStatusCode.UNSET)
})

test('API calls that fail: an error status, a thrown API error, a timeout; a retry carries its resend count', async (t) => {
  otel.reset()
  const call = { method: 'POST', template: '/apps/{app}/jobs', url: 'http://127.0.0.1:8080/v1/apps/a/jobs', attempt: 2 }
  await telemetry.apiCall(call, async () => ({ status: 429 }), (answer) => answer.status)
  let span = otel.span('POST /apps/{app}/jobs')
  t.match(span.attributes, { 'http.response.status_code': 429, 'error.type': '429', 'server.address': '127.0.0.1', 'server.port': 8080, 'http.request.resend_count': 1 })
  t.equal(span.status.code, SpanStatusCode.ERROR)

  otel.reset()
  const apiError = Object.assign(new Error('super.AI API GET answered 503'), { code: 'FST_SUPERAI_API_ERROR', status: 503 })
  await t.rejects(telemetry.apiCall({ ...call, attempt: 1 }, async () => { throw apiError }, () => 0), apiError)
  span = otel.span('POST /apps/{app}/jobs')
  t.match(span.attributes, { 'http.response.status_code': 503, 'error.type': '503' })
  t.notOk('http.request.resend_count' in span.attributes, 'the first try has no resend count')
  t.equal(span.events[0]?.name, 'exception')
  t.equal(span.status.code, SpanStatusCode.ERROR)

  otel.reset()
  const timeout = Object.assign(new Error('did not answer'), { code: 'FST_SUPERAI_API_TIMEOUT', status: 0 })
  await t.rejects(telemetry.apiCall(call, async () => { throw timeout }, () => 0), timeout)
  span = otel.span('POST /apps/{app}/jobs')
  t.equal(span.attributes['error.type'], 'FST_SUPERAI_API_TIMEOUT')
  t.notOk('http.response.status_code' in span.attributes, 'no answer: no status')
})

test('the trace of a queued callback with its submission link, as the docs picture it (rendered from this run)', async (t) => {
  otel.reset()
  // the anchor is the span the app submitted the job in, taken before the API call's own span
  const anchor = await inUserSpan('POST /orders (submits a job)', async () => {
    const taken = telemetry.submissionAnchor()
    await telemetry.apiCall({ method: 'POST', template: '/apps/{app}/jobs', url: 'https://api.super.ai/v1/apps/a/jobs' }, async () => 201, (status) => status)
    return taken
  })
  const carrier = await context.with(ROOT_CONTEXT, async () => await inUserSpan('request', async () => {
    const receiver = telemetry.startDelivery({ source: 'http', event: jobEvent(), key: 'k' })
    receiver.link(anchor)
    const carried = await receiver.send(async (carrier) => carrier)
    receiver.end('queued')
    return carried
  }))
  for (const attempt of [1, 2]) {
    await context.with(ROOT_CONTEXT, async () => {
      const worker = telemetry.startDelivery({ source: 'queue', event: jobEvent(), key: 'k', attempt, carrier, submission: anchor })
      await worker.runHandler('job.completed', async () => { if (attempt === 1) throw new Error('try 1') }).catch(() => {})
      worker.end(attempt === 1 ? 'failed' : 'processed', attempt === 1 ? new Error('try 1') : undefined)
    })
  }
  const tree = traceTree(otel.spans().map(spanRecord))
  t.equal(tree.replace(/trace [\da-f]{8}/g, 'trace …'), [
    'trace …',
    '  POST /orders (submits a job) (INTERNAL)',
    '    POST /apps/{app}/jobs (CLIENT)',
    '',
    'trace …',
    '  request (INTERNAL)',
    '    process superai.callback (CONSUMER, outcome queued, link -> POST /orders (submits a job))',
    '      send superai.callbacks (PRODUCER)',
    '        process superai.callback (CONSUMER, outcome failed, attempt 1, ERROR, link -> POST /orders (submits a job))',
    '          job.completed (INTERNAL, ERROR)',
    '        process superai.callback (CONSUMER, outcome processed, attempt 2, link -> POST /orders (submits a job))',
    '          job.completed (INTERNAL)'
  ].join('\n'))
})
