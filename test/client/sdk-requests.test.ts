import t from 'tap'
import { createSuperaiClient, type SuperaiClient } from '../../src/client/client.js'
import { startFakeApi, type RecordedRequest } from '../helpers/fake-api.js'
import { SDK_REQUESTS, sdkRequest } from '../fixtures/sdk-requests.js'
import { DOCUMENTED_JOB } from '../fixtures/superai-job.js'

const APP = 'app-42'
const JOB = DOCUMENTED_JOB.uuid
const BATCH = 'b-7'
const OPERATION = 17
const ids: Record<string, string> = { '{app}': APP, '{job}': JOB, '{batch}': BATCH, '{operation}': String(OPERATION) }
const pathOf = (template: string): string => `/v1/${template.replace(/\{\w+\}/g, (name) => ids[name] ?? name)}`

/** Each client method called with every optional argument, and the SDK method whose request it must send. */
const CALLS: ReadonlyArray<readonly [sdk: string, call: (client: SuperaiClient) => Promise<unknown>]> = [
  ['create_jobs', async (c) => await c.submitJobs(APP, {
    inputs: [{ n: 1 }],
    inputsFileUrl: 'https://example.com/inputs.json',
    callbackUrl: 'https://example.com/cb/',
    metadata: { a: 1 },
    labeler: 'worker@example.com',
    pending: true,
    tags: 'urgent'
  })],
  ['fetch_job', async (c) => await c.getJob(JOB)],
  ['fetch_batches_job', async (c) => await c.listBatches(APP)],
  ['fetch_batch_job', async (c) => await c.getBatch(APP, BATCH)],
  ['get_job_response', async (c) => await c.getJobResponse(JOB)],
  ['cancel_job', async (c) => await c.cancelJob(JOB)],
  ['add_tags', async (c) => await c.addTags(APP, JOB, 'urgent')],
  ['delete_tags', async (c) => await c.removeTags(APP, ['urgent'], { idSearch: JOB, batchId: BATCH, createdStartDate: new Date('2024-03-11T09:00:00Z') })],
  ['list_jobs', async (c) => await c.listJobs(APP, {
    page: 0,
    size: 10,
    sortBy: 'id',
    orderBy: 'asc',
    createdStartDate: '2024-03-01T00:00:00Z',
    createdEndDate: '2024-03-02T00:00:00Z',
    completedStartDate: '2024-03-01T00:00:00Z',
    completedEndDate: '2024-03-02T00:00:00Z',
    statusIn: ['COMPLETED'],
    tags: 'urgent',
    correct: false
  })],
  ['download_jobs', async (c) => await c.downloadJobs(APP, {
    createdStartDate: '2024-03-01T00:00:00Z',
    createdEndDate: '2024-03-02T00:00:00Z',
    completedStartDate: '2024-03-01T00:00:00Z',
    completedEndDate: '2024-03-02T00:00:00Z',
    statusIn: ['COMPLETED'],
    sendEmail: false,
    withHistory: true,
    batchId: BATCH,
    idSearch: JOB
  })],
  ['get_jobs_operation', async (c) => await c.getJobsOperation(APP, OPERATION)],
  ['generates_downloaded_jobs_url', async (c) => await c.createDownloadUrl(APP, OPERATION, { secondsTtl: 120 })],
  ['review_job', async (c) => await c.reviewJob(JOB, { response: { total: 12 }, correct: true })]
]

/** What the recording fake answers each SDK request with, in the shape the SDK reads. */
function answerFor (request: RecordedRequest): { status: number, body?: unknown } {
  const path = new URL(request.url, 'http://x').pathname
  if (path.endsWith('/batches')) return { status: 200, body: [{ id: BATCH }] }
  if (path.endsWith('/job_responses')) return { status: 200, body: { operationId: OPERATION } }
  if (path.endsWith('/download-url')) return { status: 200, body: { downloadUrl: 'https://downloads.example.com/x.zip?signature=s' } }
  if (path.startsWith('/v1/operations/')) return { status: 200, body: { id: OPERATION, status: 'COMPLETED' } }
  if (path.endsWith('/jobs') && request.method === 'GET') return { status: 200, body: { jobs: [], pages: 0 } }
  return { status: 200, body: { ...DOCUMENTED_JOB } }
}

t.test('every client method sends its SDK method\'s request: method, path, query names, body names', async (t) => {
  const api = await startFakeApi(answerFor)
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
  t.same(CALLS.map(([sdk]) => sdk).sort(), SDK_REQUESTS.map((request) => request.sdk).sort(), 'every SDK method has a client method')
  for (const [sdk, call] of CALLS) {
    const expected = sdkRequest(sdk)
    const before = api.requests.length
    await call(client)
    t.equal(api.requests.length, before + 1, `${sdk}: one request`)
    const sent = api.requests[before]
    const url = new URL(sent?.url ?? '', 'http://x')
    t.equal(sent?.method, expected.method, `${sdk}: method`)
    t.equal(url.pathname, pathOf(expected.path), `${sdk}: path`)
    t.same([...new Set(url.searchParams.keys())].sort(), [...expected.query].sort(), `${sdk}: query names`)
    t.same(sent?.body === undefined ? undefined : Object.keys(sent.body as object).sort(), expected.body === undefined ? undefined : [...expected.body].sort(), `${sdk}: body names`)
    t.equal(sent?.headers['api-key'], 'k', `${sdk}: API-KEY`)
  }
})

t.test('booleans in a query as the SDK sends them (True/False), lists one name per value, tags as given', async (t) => {
  const api = await startFakeApi(answerFor)
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
  await client.listJobs(APP, { correct: true, tags: ['a', 'b'], statusIn: ['COMPLETED', 'REVIEWED'] })
  await client.downloadJobs(APP, { sendEmail: false, withHistory: true })
  await client.addTags(APP, JOB, ['a', 'b'])
  const [list, download, tags] = api.requests.map((request) => new URL(request.url, 'http://x').searchParams)
  t.same(list?.getAll('tags'), ['a', 'b'])
  t.same(list?.getAll('statusIn'), ['COMPLETED', 'REVIEWED'])
  t.equal(list?.get('correct'), 'True')
  t.equal(download?.get('sendEmail'), 'False')
  t.equal(download?.get('withHistory'), 'True')
  t.equal(tags?.get('idSearch'), JOB)
  t.same(api.requests[2]?.body, { tags: ['a', 'b'] })
})

t.test('the batch is asked for at apps/{app}/batches/{batch}, never at the SDK\'s pre-2020 apps/{app}/{batch}', async (t) => {
  const api = await startFakeApi((request) => new URL(request.url, 'http://x').pathname === `/v1/apps/${APP}/batches/${BATCH}`
    ? { status: 200, body: { id: BATCH } }
    : { status: 404, body: { message: 'not found' } })
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
  t.same(await client.getBatch(APP, BATCH), { id: BATCH })
  t.notOk(api.requests.some((request) => request.url === `/v1/apps/${APP}/${BATCH}`))
})

t.test('bad arguments are refused with a coded error before any request', async (t) => {
  const api = await startFakeApi(answerFor)
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
  const refusals: ReadonlyArray<readonly [string, () => Promise<unknown>, RegExp]> = [
    ['no tags', async () => await client.addTags(APP, JOB, []), /tags/],
    ['a blank tag', async () => await client.removeTags(APP, ' '), /tags/],
    ['no idSearch', async () => await client.addTags(APP, '', 'a'), /idSearch/],
    ['correct not boolean', async () => await client.listJobs(APP, { correct: 'yes' as unknown as boolean }), /correct/],
    ['a review with neither', async () => await client.reviewJob(JOB, {} as { correct: boolean }), /review/],
    ['a review with an empty response only', async () => await client.reviewJob(JOB, { response: {} }), /review/],
    ['a review whose correct is not boolean', async () => await client.reviewJob(JOB, { correct: 1 as unknown as boolean }), /correct/],
    ['a response that is not an object', async () => await client.reviewJob(JOB, { response: [] as unknown as Record<string, unknown> }), /response/],
    ['pending not boolean', async () => await client.submitJobs(APP, { inputs: [{}], pending: 'yes' as unknown as boolean }), /pending/],
    ['a blank labeler', async () => await client.submitJobs(APP, { inputs: [{}], labeler: '' }), /labeler/],
    ['inputsFileUrl not a URL', async () => await client.submitJobs(APP, { inputsFileUrl: 'inputs.json' }), /inputsFileUrl/],
    ['sendEmail not boolean', async () => await client.downloadJobs(APP, { sendEmail: 'no' as unknown as boolean }), /sendEmail/],
    ['a secondsTtl of 0', async () => await client.createDownloadUrl(APP, OPERATION, { secondsTtl: 0 }), /secondsTtl/],
    ['a blank operation id', async () => await client.getJobsOperation(APP, ''), /operationId/],
    ['a bad date', async () => await client.removeTags(APP, 'a', { createdStartDate: 'soon' }), /createdStartDate/],
    ['a blank batch', async () => await client.listBatches(' '), /appId/]
  ]
  for (const [what, call, message] of refusals) {
    await t.rejects(call(), { code: 'FST_SUPERAI_INVALID_OPTION', message }, what)
  }
  t.equal(api.requests.length, 0, 'nothing was sent')
})

t.test('cancelJob: a job object in a state the SDK says cannot be canceled is refused without a request', async (t) => {
  const api = await startFakeApi(answerFor)
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
  for (const status of ['COMPLETED', 'POST_PROCESSED', 'FAILED', 'CANCELED', 'PENDING', 'NEEDS_WORK']) {
    await t.rejects(client.cancelJob({ ...DOCUMENTED_JOB, status }), { code: 'FST_SUPERAI_JOB_NOT_CANCELABLE', statusCode: 409, message: new RegExp(`is ${status}`) }, status)
  }
  t.equal(api.requests.length, 0, 'nothing was sent')
  for (const status of ['SCHEDULED', 'IN_PROGRESS', 'SUSPENDED', 'in progress']) await client.cancelJob({ ...DOCUMENTED_JOB, status })
  await client.cancelJob({ id: 7 })
  t.same(api.requests.map((request) => request.url), [...Array(4).fill(`/v1/jobs/${JOB}/cancel`), '/v1/jobs/7/cancel'], 'by uuid, else by id')
  await client.cancelJob(JOB)
  t.equal(api.requests.length, 6, 'a uuid alone: the API decides')
  await t.rejects(client.cancelJob({ status: 'SCHEDULED' }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /neither uuid nor id/ })
})

t.test('the tag calls answer the jobs: an array, one job, or none (204)', async (t) => {
  let answer: { status: number, body?: unknown } = { status: 200, body: [{ ...DOCUMENTED_JOB }] }
  const api = await startFakeApi(() => answer)
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
  t.same(await client.addTags(APP, JOB, 'a'), [DOCUMENTED_JOB])
  answer = { status: 200, body: { ...DOCUMENTED_JOB } }
  t.same(await client.removeTags(APP, 'a'), [DOCUMENTED_JOB])
  answer = { status: 204 }
  t.same(await client.removeTags(APP, 'a'), [])
  answer = { status: 200, body: { status: 7 } }
  await t.rejects(client.addTags(APP, JOB, 'a'), { code: 'FST_SUPERAI_API_INVALID_RESPONSE' })
})
