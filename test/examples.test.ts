import { test } from 'tap'
import { runExample } from './helpers/example.js'

test('examples/basic.ts prints a curl command that works, and a repeat is a duplicate', async (t) => {
  const { port, output } = await runExample(t, 'examples/basic.ts', /curl .*-d '(.+)'\n/)
  const body = /-d '(.+)'/.exec(output())?.[1] ?? ''
  t.match(output(), `http://127.0.0.1:${port}/superai/callbacks/`)
  const send = async () => await (await fetch(`http://127.0.0.1:${port}/superai/callbacks/`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body
  })).json() as unknown
  t.same(await send(), { ok: true, duplicate: false })
  t.same(await send(), { ok: true, duplicate: true })
  t.match(output(), 'job completed: fetch its results here', 'the handler ran')
})

test('examples/existing-app.ts serves the callback route under its prefix beside the other routes', async (t) => {
  const { port } = await runExample(t, 'examples/existing-app.ts', /superai\/callbacks\//)
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  t.equal(health.status, 200)
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/superai/callbacks/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: '1', uuid: '5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f11', state: 'COMPLETED', action: 'RESOLVED' })
  })
  t.same(await res.json(), { ok: true, duplicate: false })
})

test('examples/metrics.ts counts deliveries by outcome on /metrics', async (t) => {
  const { port } = await runExample(t, 'examples/metrics.ts', /Server listening/)
  const body = JSON.stringify({ id: '1', uuid: '5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f12', state: 'COMPLETED', action: 'RESOLVED' })
  for (let i = 0; i < 2; i++) {
    await fetch(`http://127.0.0.1:${port}/superai/callbacks/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  }
  await fetch(`http://127.0.0.1:${port}/superai/callbacks/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  t.match(metrics, /superai_callback_deliveries_total\{outcome="processed",source="http",state="COMPLETED"\} 1/)
  t.match(metrics, /superai_callback_deliveries_total\{outcome="duplicate",source="http",state="COMPLETED"\} 1/)
  t.match(metrics, /superai_callback_deliveries_total\{outcome="rejected",source="http",state="none"\} 1/)
  t.match(metrics, /superai_callback_delivery_seconds_count\{outcome="processed"\} 1/)
})

test('examples/otel.ts prints the delivery\'s span, the child of @fastify/otel\'s request span, and its handler\'s', async (t) => {
  const { output } = await runExample(t, 'examples/otel.ts', /its spans are printed above/)
  const printed = output()
  t.match(printed, /name: 'process superai\.callback'/)
  t.match(printed, /'superai\.delivery\.outcome': 'processed'/)
  t.match(printed, /name: 'job\.completed'/)
  // the console exporter prints each span's parent: the delivery's is the request span's id
  const requestId = /name: 'request',\s*id: '([0-9a-f]{16})'/.exec(printed)?.[1]
  const processParent = /parentSpanContext: \{[^}]*spanId: '([0-9a-f]{16})'[^}]*\},\s*(?:traceState: [^,]*,\s*)?name: 'process superai\.callback'/.exec(printed)?.[1]
  t.ok(requestId !== undefined && processParent === requestId, 'the delivery span is the child of the request span')
})

test('examples/submit-and-wait.ts answers POST /extract with the extraction its handler fetched, after the callback was handled', async (t) => {
  const { port, output } = await runExample(t, 'examples/submit-and-wait.ts', /listening on /)
  const extract = async (): Promise<{ status: number, body: unknown }> => {
    const response = await fetch(`http://127.0.0.1:${port}/extract`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ documentUrl: 'https://example.com/invoice.pdf' })
    })
    return { status: response.status, body: await response.json() as unknown }
  }
  // two at once: each waits for its own job
  const [first, second] = await Promise.all([extract(), extract()])
  for (const answer of [first, second]) {
    t.match(answer, { status: 200, body: { state: 'COMPLETED', extraction: { label: 'sandbox', input: { documentUrl: 'https://example.com/invoice.pdf' } } } }, output())
  }
  t.not((first.body as { uuid: string }).uuid, (second.body as { uuid: string }).uuid)
  t.equal((await fetch(`http://127.0.0.1:${port}/extract`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"documentUrl":"nope"}' })).status, 400)
})
