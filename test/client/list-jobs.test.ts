import { test } from 'tap'
import { createSuperaiClient, isSuperaiApiError, type SuperaiJob } from '../../src/index.js'
import { startFakeApi } from '../helpers/fake-api.js'
import { apiDate, startFakeSuperai } from '../helpers/fake-superai.js'
import { DOCUMENTED_JOB } from '../fixtures/superai-job.js'

test('listJobs sends the documented query names, dates as YYYY-MM-DDTHH:MM:SSZ, statusIn once per value', async (t) => {
  const api = await startFakeApi(() => ({ status: 200, body: { jobs: [{ ...DOCUMENTED_JOB }], pages: 1, totalElements: 1 } }))
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl })
  const list = await client.listJobs('app-1', {
    page: 2,
    size: 50,
    sortBy: 'id',
    orderBy: 'desc',
    completedStartDate: new Date('2024-03-11T09:00:00.750Z'),
    completedEndDate: '2024-03-12T09:00:00Z',
    createdStartDate: '2024-03-01T00:00:00+02:00',
    statusIn: ['COMPLETED', 'POST_PROCESSED']
  })
  const url = new URL(api.requests[0]?.url ?? '', 'http://x')
  t.equal(url.pathname, '/v1/apps/app-1/jobs')
  t.same([...url.searchParams], [
    ['page', '2'], ['size', '50'], ['sortBy', 'id'], ['orderBy', 'desc'],
    ['createdStartDate', '2024-02-29T22:00:00Z'],
    ['completedStartDate', '2024-03-11T09:00:00Z'], ['completedEndDate', '2024-03-12T09:00:00Z'],
    ['statusIn', 'COMPLETED'], ['statusIn', 'POST_PROCESSED']
  ])
  t.equal(api.requests[0]?.headers['api-key'], 'k')
  t.same(list.jobs, [DOCUMENTED_JOB], 'the job object as documented')
  t.equal(list.pages, 1)
  t.equal(list.totalElements, 1, 'fields the API adds are kept')
})

test('listJobs refuses an answer that is not { jobs, pages }, and bad query values before sending', async (t) => {
  const api = await startFakeApi(() => ({ status: 200, body: { jobs: 'none', pages: 1 } }))
  t.teardown(api.close)
  const client = createSuperaiClient({ apiKey: 'k', baseUrl: api.baseUrl })
  await t.rejects(client.listJobs('app-1'), { code: 'FST_SUPERAI_API_INVALID_RESPONSE', message: /\/jobs/ })
  api.respond(() => ({ status: 200, body: { jobs: [] } }))
  await t.rejects(client.listJobs('app-1'), { code: 'FST_SUPERAI_API_INVALID_RESPONSE', message: /pages/ })
  const sent = api.requests.length
  await t.rejects(client.listJobs('app-1', { completedStartDate: 'yesterday' }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /completedStartDate/ })
  await t.rejects(client.listJobs('app-1', { page: -1 }), { code: 'FST_SUPERAI_INVALID_OPTION', message: /page/ })
  await t.rejects(client.listJobs('', {}), { code: 'FST_SUPERAI_INVALID_OPTION', message: /appId/ })
  t.equal(api.requests.length, sent, 'nothing sent')
})

test('jobs() iterates every page of the query against a stateful API, filtering as asked', async (t) => {
  const api = await startFakeSuperai(t)
  const app = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'
  const now = Date.now()
  const inWindow = Array.from({ length: 23 }, () => api.addJob({ appId: app, completed: apiDate(now - 3_600_000) }))
  api.addJob({ appId: app, completed: apiDate(now - 3 * 86_400_000) })
  api.addJob({ appId: 'another-project' })
  api.addJob({ appId: app, status: 'IN_PROGRESS' })

  const client = createSuperaiClient({ apiKey: api.apiKey, baseUrl: api.baseUrl })
  const seen: SuperaiJob[] = []
  for await (const job of client.jobs(app, { size: 5, completedStartDate: new Date(now - 86_400_000), completedEndDate: new Date(now) })) seen.push(job)
  t.same(seen.map((job) => job.uuid).sort(), inWindow.map((job) => job.uuid).sort(), 'each job of the window once')
  t.same(api.lists.map((list) => list.query.get('page')), ['0', '1', '2', '3', '4'], 'five pages of five')

  const failed = createSuperaiClient({ apiKey: 'wrong', baseUrl: api.baseUrl, retries: 0 })
  const error = await failed.listJobs(app).catch((err: unknown) => err)
  t.ok(isSuperaiApiError(error) && error.status === 401, 'a refused key is an API error with its status')
})
