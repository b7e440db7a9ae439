import { execFile } from 'node:child_process'
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import {
  DEFAULT_SUPERAI_BASE_URL, SuperaiBatchSchema, SuperaiJobSchema, createSuperaiClient, isSuperaiApiError,
  type SuperaiClientOptions
} from '../../src/client/client.js'
import { startFakeApi, type FakeApi, type FakeResponder } from '../helpers/fake-api.js'
import { documentedJob } from '../fixtures/superai-job.js'
import { childEnv } from '../helpers/child-env.js'

const JOB_UUID = '0b8f4c3e-7d6a-4b1e-9c2f-5a4d3e2f1a0b'
const API_KEY = 'test-key-5f2a'

async function setup (t: Test, responder?: FakeResponder): Promise<FakeApi> {
  const api = await startFakeApi(responder)
  t.teardown(api.close)
  return api
}

// Fast retries by default so the retry tests take milliseconds.
const clientFor = (api: FakeApi, options: Partial<SuperaiClientOptions> = {}) =>
  createSuperaiClient({ apiKey: API_KEY, baseUrl: api.baseUrl, retryDelay: 1, ...options })

/** Rejections of the client, as the error they carry. */
async function failure (promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  throw new Error('expected the call to fail')
}

t.test('submitJobs POSTs {baseUrl}/apps/{appId}/jobs with the API-KEY header and the documented body', async (t) => {
  const api = await setup(t, () => ({ status: 200, body: { message: 'Jobs submitted', batchId: 'b-1', uuid: JOB_UUID } }))
  const client = clientFor(api)

  const result = await client.submitJobs('app-42', {
    inputs: [{ documentUrl: 'https://example.com/doc.pdf' }],
    callbackUrl: 'HTTPS://Example.com/superai/callbacks/',
    metadata: { orderId: 7 }
  })

  t.same(result, { message: 'Jobs submitted', batchId: 'b-1', uuid: JOB_UUID })
  t.equal(api.requests.length, 1)
  const [request] = api.requests
  t.equal(request?.method, 'POST')
  t.equal(request?.url, '/v1/apps/app-42/jobs')
  t.equal(request?.headers['api-key'], API_KEY)
  t.match(request?.headers['content-type'], /^application\/json/)
  t.strictSame(request?.body, {
    inputs: [{ documentUrl: 'https://example.com/doc.pdf' }],
    callbackUrl: 'https://example.com/superai/callbacks/',
    metadata: { orderId: 7 }
  })
})

t.test('submitJobs leaves out what was not given and accepts inputsFileUrl alone', async (t) => {
  const api = await setup(t)
  const client = clientFor(api)
  await client.submitJobs('app-1', { inputsFileUrl: 'https://example.com/inputs.json' })
  await client.submitJobs('app-1', { inputs: [{ a: 1 }] })
  t.strictSame(api.requests.map((r) => r.body), [{ inputsFileUrl: 'https://example.com/inputs.json' }, { inputs: [{ a: 1 }] }])
})

t.test('submitJobs validates the callback URL and the inputs before sending anything', async (t) => {
  const api = await setup(t)
  const client = clientFor(api)
  const cases: Array<[string, RegExp]> = [
    ['https://example.com/callbacks', /trailing slash/],
    ['/callbacks/', /not absolute/],
    ['ftp://example.com/cb/', /protocol/],
    ['https://u:p@example.com/cb/', /credentials/]
  ]
  for (const [callbackUrl, reason] of cases) {
    const error = await failure(client.submitJobs('app-1', { inputs: [{}], callbackUrl }))
    t.equal(error.code, 'FST_SUPERAI_INVALID_CALLBACK_URL', callbackUrl)
    t.match(error.message, reason)
  }
  t.match(await failure(client.submitJobs('app-1', { inputs: [] })), { code: 'FST_SUPERAI_INVALID_OPTION', message: /inputs/ })
  t.match(await failure(client.submitJobs('', { inputs: [{}] })), { code: 'FST_SUPERAI_INVALID_OPTION', message: /appId/ })
  t.equal(api.requests.length, 0, 'nothing reached the API')
})

t.test('getJob GETs {baseUrl}/jobs/{uuid}, checks the job against SuperaiJobSchema and keeps extra properties', async (t) => {
  const job = documentedJob({ uuid: JOB_UUID, appId: 'app-42', newField: [1, 2] })
  const api = await setup(t, () => ({ status: 200, body: job }))
  const client = clientFor(api)

  const fetched = await client.getJob(JOB_UUID)
  t.strictSame(fetched, job)
  t.equal(fetched.appId, 'app-42')
  t.equal(fetched.newField !== undefined, true)
  const [request] = api.requests
  t.equal(request?.method, 'GET')
  t.equal(request?.url, `/v1/jobs/${JOB_UUID}`)
  t.equal(request?.headers['api-key'], API_KEY)
  t.equal(request?.body, undefined)
  t.equal(SuperaiJobSchema.$id, 'SuperaiJob')
})

t.test('path segments are encoded: a job id cannot change the path', async (t) => {
  const api = await setup(t, () => ({ status: 200, body: {} }))
  await clientFor(api).getJob('../apps/x?y=1')
  t.equal(api.requests[0]?.url, '/v1/jobs/..%2Fapps%2Fx%3Fy%3D1')
})

t.test('an answer that does not match the schema is a coded error carrying the body', async (t) => {
  const api = await setup(t, () => ({ status: 200, body: { uuid: JOB_UUID, status: 42 } }))
  const error = await failure(clientFor(api).getJob(JOB_UUID))
  t.match(error, {
    code: 'FST_SUPERAI_API_INVALID_RESPONSE', status: 200, body: { uuid: JOB_UUID, status: 42 }, message: /\/status/
  })
  t.equal(isSuperaiApiError(error), true)

  api.respond(() => ({ status: 200, body: [1, 2] }))
  t.match(await failure(clientFor(api).getJob(JOB_UUID)), { code: 'FST_SUPERAI_API_INVALID_RESPONSE' })
  api.respond(() => ({ status: 204 }))
  t.match(await failure(clientFor(api).getJob(JOB_UUID)), { code: 'FST_SUPERAI_API_INVALID_RESPONSE', message: /empty body/ })
})

t.test('getJobResponse returns the body, typed and checked when a schema is given', async (t) => {
  const api = await setup(t, () => ({ status: 200, body: { data: { label: 'cat' } } }))
  const client = clientFor(api)
  t.same(await client.getJobResponse(JOB_UUID), { data: { label: 'cat' } })
  t.equal(api.requests[0]?.url, `/v1/jobs/${JOB_UUID}/response`)

  const typed = await client.getJobResponse(JOB_UUID, { schema: Type.Object({ data: Type.Object({ label: Type.String() }) }) })
  t.equal(typed.data.label, 'cat')
  const error = await failure(client.getJobResponse(JOB_UUID, { schema: Type.Object({ data: Type.Array(Type.String()) }) }))
  t.match(error, { code: 'FST_SUPERAI_API_INVALID_RESPONSE', body: { data: { label: 'cat' } } })
})

t.test('cancelJob POSTs {baseUrl}/jobs/{uuid}/cancel without a body', async (t) => {
  const canceled = documentedJob({ uuid: JOB_UUID, status: 'CANCELED', completed: '2024-03-11T09:15:00Z' })
  const api = await setup(t, () => ({ status: 200, body: canceled }))
  const client = clientFor(api)
  t.strictSame(await client.cancelJob(JOB_UUID), canceled)
  t.equal(api.requests[0]?.method, 'POST')
  t.equal(api.requests[0]?.url, `/v1/jobs/${JOB_UUID}/cancel`)
  t.equal(api.requests[0]?.headers['content-type'], undefined)
  api.respond(() => ({ status: 204 }))
  t.equal(await client.cancelJob(JOB_UUID), undefined)
})

t.test('getBatch GETs {baseUrl}/apps/{appId}/batches/{batchId} (the SDK\'s fetch_batch_job) and keeps the whole (undocumented) batch object', async (t) => {
  const batch = { id: 'b-1', appId: 'app-42', jobs: [{ uuid: JOB_UUID }], state: 'COMPLETED' }
  const api = await setup(t, () => ({ status: 200, body: batch }))
  const client = clientFor(api)
  t.strictSame(await client.getBatch('app-42', 'b-1'), batch)
  t.equal(api.requests[0]?.method, 'GET')
  t.equal(api.requests[0]?.url, '/v1/apps/app-42/batches/b-1')
  t.equal(api.requests[0]?.headers['api-key'], API_KEY)
  t.equal(SuperaiBatchSchema.$id, 'SuperaiBatch')
  await client.getBatch('app/../x', 'b?1')
  t.equal(api.requests[1]?.url, '/v1/apps/app%2F..%2Fx/batches/b%3F1', 'ids cannot change the path')
  t.match(await failure(client.getBatch('', 'b-1')), { code: 'FST_SUPERAI_INVALID_OPTION', message: /appId/ })
  api.respond(() => ({ status: 404, body: { message: 'not found' } }))
  t.match(await failure(client.getBatch('app-42', 'b-2')), { code: 'FST_SUPERAI_API_ERROR', status: 404 })
  api.respond(() => ({ status: 200, body: [1] }))
  t.match(await failure(client.getBatch('app-42', 'b-3')), { code: 'FST_SUPERAI_API_INVALID_RESPONSE' })
})

t.test('errors carry status, body, method, url and attempts; a 4xx is never retried', async (t) => {
  for (const status of [400, 401, 403, 404, 409, 422]) {
    const api = await setup(t, () => ({ status, body: { message: `no (${status})` } }))
    const error = await failure(clientFor(api).getJob(JOB_UUID))
    t.match(error, {
      code: 'FST_SUPERAI_API_ERROR',
      statusCode: 502,
      status,
      body: { message: `no (${status})` },
      method: 'GET',
      url: `${api.baseUrl}/jobs/${JOB_UUID}`,
      attempts: 1,
      message: new RegExp(`answered ${status}$`)
    }, `status ${status}`)
    t.notMatch(error.message, API_KEY, 'the API key stays out of messages')
    t.equal(api.requests.length, 1, `${status} was not retried`)
  }
})

t.test('a text error body is kept as text', async (t) => {
  const api = await setup(t, () => ({ status: 400, body: 'Bad things' }))
  t.match(await failure(clientFor(api).getJob(JOB_UUID)), { status: 400, body: 'Bad things' })
})

t.test('429 and 5xx are retried with backoff until success', async (t) => {
  const script = [500, 502, 429, 503, 200]
  const api = await setup(t, (_request, index) => {
    const status = script[index] ?? 200
    return status === 200 ? { status, body: { uuid: JOB_UUID } } : { status, body: { message: 'later' } }
  })
  const job = await clientFor(api, { retries: 4 }).getJob(JOB_UUID)
  t.equal(job.uuid, JOB_UUID)
  t.equal(api.requests.length, 5)
})

t.test('retries are bounded: the last error reports every attempt', async (t) => {
  const api = await setup(t, () => ({ status: 500, body: { message: 'boom' } }))
  const error = await failure(clientFor(api, { retries: 2 }).getJob(JOB_UUID))
  t.match(error, { code: 'FST_SUPERAI_API_ERROR', status: 500, attempts: 3 })
  t.equal(api.requests.length, 3)

  const none = await setup(t, () => ({ status: 503 }))
  t.match(await failure(clientFor(none, { retries: 0 }).getJob(JOB_UUID)), { status: 503, attempts: 1 })
  t.equal(none.requests.length, 1)
})

t.test('Retry-After is honoured, and one beyond maxRetryDelay ends the retries', async (t) => {
  const api = await setup(t, (_request, index) => index === 0
    ? { status: 429, headers: { 'retry-after': '1' } }
    : { status: 200, body: { uuid: JOB_UUID } })
  await clientFor(api).getJob(JOB_UUID)
  const [first, second] = api.requests
  t.ok(second !== undefined && first !== undefined && second.at - first.at >= 950, 'waited the second Retry-After asked for')

  const patient = await setup(t, () => ({ status: 503, headers: { 'retry-after': '120' } }))
  const error = await failure(clientFor(patient, { maxRetryDelay: 5000 }).getJob(JOB_UUID))
  t.match(error, { status: 503, attempts: 1, retryAfter: 120_000 })
  t.equal(patient.requests.length, 1)
})

t.test('submitJobs retries only what cannot have created jobs: 429 and 503, not 500', async (t) => {
  const api = await setup(t, () => ({ status: 500 }))
  const client = clientFor(api)
  t.match(await failure(client.submitJobs('app-1', { inputs: [{}] })), { status: 500, attempts: 1 })
  t.equal(api.requests.length, 1)

  const script = [429, 503, 200]
  const busy = await setup(t, (_request, index) => ({ status: script[index] ?? 200, body: { uuid: JOB_UUID } }))
  t.same(await clientFor(busy).submitJobs('app-1', { inputs: [{}] }), { uuid: JOB_UUID })
  t.equal(busy.requests.length, 3)
})

t.test('an attempt that takes longer than the timeout fails with FST_SUPERAI_API_TIMEOUT and is not retried', async (t) => {
  const api = await setup(t, () => ({ status: 200, body: {}, delay: 2000 }))
  const started = Date.now()
  const error = await failure(clientFor(api, { timeout: 150 }).getJob(JOB_UUID))
  t.match(error, { code: 'FST_SUPERAI_API_TIMEOUT', statusCode: 504, status: 0, attempts: 1, message: /within 150 ms/ })
  t.ok(Date.now() - started < 1500, 'gave up at the timeout')
  t.equal(api.requests.length, 1)
  t.match(await failure(clientFor(api, { timeout: 5000 }).getJob(JOB_UUID, { timeout: 100 })), { code: 'FST_SUPERAI_API_TIMEOUT' })
})

t.test('an API that cannot be reached is FST_SUPERAI_API_UNREACHABLE with the network error as cause', async (t) => {
  const api = await startFakeApi()
  const baseUrl = api.baseUrl
  await api.close()
  const error = await failure(createSuperaiClient({ apiKey: API_KEY, baseUrl }).getJob(JOB_UUID))
  t.match(error, { code: 'FST_SUPERAI_API_UNREACHABLE', status: 0 })
  t.ok(error.cause instanceof Error)
})

t.test('the caller signal aborts a call, also while it waits to retry', async (t) => {
  const api = await setup(t, () => ({ status: 503, headers: { 'retry-after': '10' } }))
  const controller = new AbortController()
  const reason = new Error('shutting down')
  setTimeout(() => controller.abort(reason), 100)
  const started = Date.now()
  const error = await failure(clientFor(api, { maxRetryDelay: 60_000 }).getJob(JOB_UUID, { signal: controller.signal }))
  t.equal(error, reason)
  t.ok(Date.now() - started < 5000)
})

t.test('options are checked with coded errors naming the option; the base URL defaults to super.AI', async (t) => {
  t.equal(createSuperaiClient({ apiKey: 'k' }).baseUrl, DEFAULT_SUPERAI_BASE_URL)
  t.equal(DEFAULT_SUPERAI_BASE_URL, 'https://api.super.ai/v1')
  t.equal(createSuperaiClient({ apiKey: 'k', baseUrl: 'https://api.prod-eu.super.ai/v1/' }).baseUrl, 'https://api.prod-eu.super.ai/v1')
  const bad: Array<[unknown, RegExp]> = [
    [{}, /"apiKey"/],
    [{ apiKey: ' ' }, /"apiKey"/],
    [{ apiKey: 'k', baseUrl: 'api.super.ai/v1' }, /"baseUrl"/],
    [{ apiKey: 'k', baseUrl: 'ftp://api.super.ai/v1' }, /"baseUrl"/],
    [{ apiKey: 'k', timeout: 0 }, /"timeout"/],
    [{ apiKey: 'k', retries: -1 }, /"retries"/],
    [{ apiKey: 'k', retries: 1.5 }, /"retries"/],
    [{ apiKey: 'k', baseURL: 'https://api.super.ai/v1' }, /"baseURL": unknown option/],
    [{ apiKey: 'k', baseUrl: 'https:api.super.ai/v1' }, /"baseUrl"/],
    [{ apiKey: 'k', fetch: 'fetch' }, /"fetch"/],
    [[], /"options"/],
    [null, /"options"/]
  ]
  for (const [options, message] of bad) {
    t.throws(() => createSuperaiClient(options as SuperaiClientOptions), { code: 'FST_SUPERAI_INVALID_OPTION', message })
  }
})

t.test('examples/submit-and-receive.ts runs end to end against the sandbox', async (t) => {
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    const env = childEnv()
    delete env.SUPERAI_API_KEY
    execFile(process.execPath, ['--import', 'tsx', 'examples/submit-and-receive.ts'], {
      cwd: new URL('../../', import.meta.url), timeout: 30_000, env
    }, (error, out) => { if (error === null) resolve({ stdout: out }); else reject(error) })
  })
  t.match(stdout, /submitted job [0-9a-f-]{36}; callbacks go to http:\/\/127\.0\.0\.1:\d+\/superai\/callbacks\//)
  t.match(stdout, /handler ran for job [0-9a-f-]{36} of app demo-app \(COMPLETED\)/)
  t.match(stdout, /delivery 1 answered 200 \{"ok":true,"duplicate":false\}/)
  t.match(stdout, /delivery 2 answered 200 \{"ok":true,"duplicate":true\}/)
})
