import { test } from 'tap'
import { Type } from '@sinclair/typebox'
import { JobOutputs, outputCredentials } from '../../src/delivery/job-output.js'
import { isSuperaiApiError } from '../../src/index.js'
import { API_KEY, startFakeSuperai, type Override } from '../helpers/fake-superai.js'

/** The fake super.AI, with `answers` replacing the sandbox's answer of the output requests, one each, in order. */
async function fakeWithOutputs (t: Parameters<typeof startFakeSuperai>[0], answers: Array<ReturnType<Override>> = []) {
  const pending = [...answers]
  const api = await startFakeSuperai(t, (request) => request.url.endsWith('/response') ? pending.shift() : undefined)
  const outputRequests = (): number => api.requests.filter((request) => request.url.endsWith('/response')).length
  return { api, outputRequests }
}

const OutputSchema = Type.Object({ response: Type.Object({ label: Type.String() }) })

test('one fetch per delivery, shared by every handler and call; a new delivery fetches afresh', async (t) => {
  const { api, outputRequests } = await fakeWithOutputs(t)
  const job = api.addJob()
  const outputs = new JobOutputs({ apiKey: API_KEY, baseUrl: api.baseUrl }, 5000)
  const output = outputs.forDelivery(job.uuid)
  t.equal(outputRequests(), 0, 'nothing is fetched until output() is called')
  // two handlers, each calling twice, one with a schema
  const handler = async (): Promise<unknown[]> => [await output(), await output(OutputSchema)]
  const [first, second] = await Promise.all([handler(), handler()])
  t.equal(outputRequests(), 1, 'one request for the delivery')
  t.match(first?.[0], { uuid: job.uuid, response: { label: 'sandbox' } }, 'the whole document, `response` holding the output')
  t.same(first, second)
  const typed = await output(OutputSchema)
  t.equal(typed.response.label, 'sandbox', 'typed by the schema')
  t.equal(api.requests.find((request) => request.url.endsWith('/response'))?.headers['api-key'], API_KEY)

  // an EDITED callback of the same job is another delivery: its output may have changed
  await outputs.forDelivery(job.uuid)()
  t.equal(outputRequests(), 2, 'the next delivery fetched again')
})

test('a schema mismatch rejects with the client\'s coded invalid-response error naming the path, without another request', async (t) => {
  const { api, outputRequests } = await fakeWithOutputs(t)
  const job = api.addJob()
  const output = new JobOutputs({ apiKey: API_KEY, baseUrl: api.baseUrl }, 5000).forDelivery(job.uuid)
  const Extraction = Type.Object({ response: Type.Object({ url: Type.String() }) })
  const err = await output(Extraction).then(() => undefined, (e: unknown) => e)
  t.ok(isSuperaiApiError(err), 'narrowed by isSuperaiApiError')
  t.match(err, {
    code: 'FST_SUPERAI_API_INVALID_RESPONSE',
    message: /\/response\/url/,
    method: 'GET',
    url: `${api.baseUrl}/jobs/${job.uuid}/response`,
    attempts: 1,
    body: { response: { label: 'sandbox' } }
  })
  t.match(await output(OutputSchema), { response: { label: 'sandbox' } }, 'another schema on the same fetch')
  t.equal(outputRequests(), 1)
})

test('timeouts, 5xx and 429 with its Retry-After are retried within the budget', async (t) => {
  const { api, outputRequests } = await fakeWithOutputs(t, [
    { status: 503 },
    { status: 200, body: { late: true }, delay: 400 },
    { status: 429, headers: { 'retry-after': '1' } },
    { status: 502 }
  ])
  const job = api.addJob()
  const started = Date.now()
  const output = new JobOutputs({ apiKey: API_KEY, baseUrl: api.baseUrl, timeout: 150 }, 10_000).forDelivery(job.uuid)
  t.match(await output(OutputSchema), { response: { label: 'sandbox' } }, 'the sandbox\'s own answer, on the fifth attempt')
  t.equal(outputRequests(), 5, '503, a timeout, 429, 502, then 200')
  t.ok(Date.now() - started >= 1000, 'the 429\'s Retry-After of 1 s was honoured')
})

test('past the budget the last failure reaches the caller', async (t) => {
  const api = await startFakeSuperai(t, (request) => request.url.endsWith('/response') ? { status: 503, body: { message: 'down' } } : undefined)
  const job = api.addJob()
  const started = Date.now()
  const output = new JobOutputs({ apiKey: API_KEY, baseUrl: api.baseUrl }, 700).forDelivery(job.uuid)
  await t.rejects(output(), { code: 'FST_SUPERAI_API_ERROR', status: 503 })
  const elapsed = Date.now() - started
  t.ok(elapsed < 700 + 400, `ended at the budget (${elapsed} ms)`)
  t.ok(api.requests.length >= 2, `retried (${api.requests.length} requests)`)
  await t.rejects(output(), { code: 'FST_SUPERAI_API_ERROR' }, 'the delivery does not fetch again: its handlers fail, the delivery is retried')
})

test('a Retry-After past the budget, a 404 or a refused key end at once', async (t) => {
  for (const [reply, status] of [
    [{ status: 429, headers: { 'retry-after': '30' } }, 429],
    [{ status: 404, body: { message: 'job has no response' } }, 404],
    [{ status: 401 }, 401]
  ] as const) {
    const { api, outputRequests } = await fakeWithOutputs(t, [reply])
    const job = api.addJob()
    const started = Date.now()
    await t.rejects(new JobOutputs({ apiKey: API_KEY, baseUrl: api.baseUrl }, 5000).forDelivery(job.uuid)(), { code: 'FST_SUPERAI_API_ERROR', status })
    t.equal(outputRequests(), 1, `${status}: one request`)
    t.ok(Date.now() - started < 1000, `${status}: no wait`)
  }
})

test('no key to use: the call throws a coded error that says to set api', async (t) => {
  const output = new JobOutputs(undefined, 5000).forDelivery('0f8e3c1a-2b4d-4e6f-8a9b-1c2d3e4f5a6b')
  await t.rejects(output(), { code: 'FST_SUPERAI_API_NOT_CONFIGURED', message: /context\.output\(\).*"api" option/ })
})

test('the key output() uses: api, else verify\'s, else reconcile\'s', async (t) => {
  const api = { apiKey: 'api', baseUrl: 'https://a.example/v1', timeout: 1000 }
  const verify = { apiKey: 'verify', baseUrl: 'https://v.example/v1', timeout: 5000 }
  const reconcile = { apiKey: 'reconcile', baseUrl: 'https://r.example/v1' }
  t.same(outputCredentials({ api, verify, reconcile }), api)
  t.same(outputCredentials({ verify, reconcile }), { apiKey: 'verify', baseUrl: 'https://v.example/v1' }, 'not verify\'s short timeout')
  t.same(outputCredentials({ reconcile }), reconcile)
  t.equal(outputCredentials({}), undefined)
})
