import { strToU8, zipSync } from 'fflate'
import t from 'tap'
import { createSuperaiClient } from '../../src/client/client.js'
import { createSandbox } from '../../src/sandbox/index.js'
import { startFakeApi, type FakeReply, type RecordedRequest } from '../helpers/fake-api.js'

const APP = 'app-export'

t.test('exportJobs runs the SDK\'s full flow against the sandbox and returns the jobs of the zip, with their responses', async (t) => {
  const sandbox = await createSandbox({ step: 100, duplicates: 0, seed: 'export' })
  t.teardown(() => sandbox.close())
  const client = createSuperaiClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl, retries: 0 })
  const { uuid } = await client.submitJobs(APP, { inputs: [{ n: 1 }], tags: ['x'] })
  await sandbox.settled()
  await client.reviewJob(String(uuid), { response: { total: 3 }, correct: false })
  sandbox.addJob({ appId: 'another-app' })
  const jobs = await client.exportJobs(APP, { statusIn: ['REVIEWED'] }, { pollInterval: 10 })
  t.match(jobs, [{ uuid, status: 'REVIEWED', correct: false, tags: ['x'], response: { total: 3 } }])
  t.equal(jobs.length, 1)
  const sent = sandbox.requests.map((request) => `${request.method} ${request.url.replace(/\?.*$/, '')}`)
  t.ok(sent.includes(`POST /v1/apps/${APP}/job_responses`))
  t.ok(sent.filter((line) => line.startsWith('GET /v1/operations/')).length >= 2, 'polled while IN_PROGRESS')
  t.match(sandbox.requests.find((request) => request.url.startsWith(`/v1/apps/${APP}/job_responses`))?.url, /sendEmail=False/, 'no e-mail, as the SDK\'s full flow')
  const download = sandbox.requests.find((request) => request.url.startsWith('/downloads/'))
  t.equal(download?.headers['api-key'], undefined, 'the API key never travels to the download URL')
  t.match((await client.listJobs(APP, { correct: false })).jobs, [{ uuid }], 'correct filters the list')
})

/** A scripted API for the export: the operation's statuses in turn, and what the download URL serves. */
function exportApi (statuses: readonly string[], zip: Uint8Array | string) {
  let polls = 0
  return (request: RecordedRequest): FakeReply => {
    const path = new URL(request.url, 'http://x').pathname
    if (path.endsWith('/job_responses')) return { status: 200, body: { operationId: 5 } }
    if (path.endsWith('/download-url')) return { status: 200, body: { downloadUrl: `http://127.0.0.1:${String(request.headers.host).split(':')[1] ?? ''}/zip?signature=secret` } }
    if (path.startsWith('/v1/operations/')) return { status: 200, body: { id: 5, status: statuses[Math.min(polls++, statuses.length - 1)] } }
    if (path === '/zip') return typeof zip === 'string' ? { status: 200, body: zip } : { status: 200, body: Buffer.from(zip), headers: { 'content-type': 'application/zip' } }
    return { status: 404, body: { message: 'no' } }
  }
}

t.test('exportJobs: a failed operation, one never done, a download that is not the zip of a JSON list', async (t) => {
  const zipOf = (files: Record<string, string>): Uint8Array => zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])))
  const cases: ReadonlyArray<readonly [string, readonly string[], Uint8Array | string, Record<string, unknown>]> = [
    ['failed', ['IN_PROGRESS', 'FAILED'], zipOf({ 'a.json': '[]' }), { code: 'FST_SUPERAI_EXPORT_FAILED', operationId: '5', operationStatus: 'FAILED', message: /export 5 did not complete: its status is FAILED/ }],
    ['never done', ['IN_PROGRESS'], zipOf({ 'a.json': '[]' }), { code: 'FST_SUPERAI_EXPORT_FAILED', operationStatus: 'IN_PROGRESS', message: /still IN_PROGRESS after 50 ms/ }],
    ['not a zip', ['COMPLETED'], 'hello', { code: 'FST_SUPERAI_API_INVALID_RESPONSE', message: /not a zip/ }],
    ['an empty zip', ['COMPLETED'], zipOf({}), { code: 'FST_SUPERAI_API_INVALID_RESPONSE', message: /without a file/ }],
    ['not JSON', ['COMPLETED'], zipOf({ 'a.json': '{' }), { code: 'FST_SUPERAI_API_INVALID_RESPONSE', message: /not JSON/ }],
    ['not a list', ['COMPLETED'], zipOf({ 'a.json': '{"jobs":[]}' }), { code: 'FST_SUPERAI_API_INVALID_RESPONSE' }]
  ]
  for (const [what, statuses, zip, expected] of cases) {
    const api = await startFakeApi(exportApi(statuses, zip))
    t.teardown(api.close)
    const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
    const error = await client.exportJobs(APP, {}, { pollInterval: 10, maxWait: what === 'never done' ? 50 : 10_000 }).then(() => undefined, (err: unknown) => err)
    t.match(error, expected, what)
    t.notMatch(String((error as Error).message), /secret/, `${what}: the download URL's signature stays out of the message`)
  }
  const api = await startFakeApi(exportApi(['COMPLETED'], zipOf({ 'jobs.json': '[{"uuid":"u-1","response":{"a":1}}]' })))
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
  t.same(await client.exportJobs(APP), [{ uuid: 'u-1', response: { a: 1 } }])
  await t.rejects(client.exportJobs(APP, {}, { pollInterval: -1 }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /pollInterval/ })
})

t.test('a download URL that is not absolute http(s), or an operation without status, is an unexpected answer', async (t) => {
  let answer: FakeReply = { status: 200, body: { downloadUrl: '/relative.zip' } }
  const api = await startFakeApi(() => answer)
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl, retries: 0 })
  await t.rejects(client.createDownloadUrl(APP, 5), { code: 'FST_SUPERAI_API_INVALID_RESPONSE', message: /downloadUrl is not an absolute/ })
  answer = { status: 200, body: { downloadUrl: 'ftp://example.com/x.zip' } }
  await t.rejects(client.createDownloadUrl(APP, 5), { code: 'FST_SUPERAI_API_INVALID_RESPONSE' })
  answer = { status: 200, body: { id: 5 } }
  await t.rejects(client.getJobsOperation(APP, 5), { code: 'FST_SUPERAI_API_INVALID_RESPONSE', message: /status/ })
  answer = { status: 200, body: { batches: [] } }
  await t.rejects(client.listBatches(APP), { code: 'FST_SUPERAI_API_INVALID_RESPONSE' }, 'the batches are a JSON array')
})
