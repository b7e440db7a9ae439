import { test } from 'tap'
import Fastify from 'fastify'
import superaiCallbacks, { createSuperaiWorker } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { callbackBody, REDIS_URL, cleanUpAtTeardown, uniquePrefix } from '../helpers/callbacks.js'
import { API_KEY, startFakeSuperai } from '../helpers/fake-superai.js'
import { removeQueueAtTeardown, uniqueQueue } from '../helpers/queue.js'

const APP_ID = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'

test('app.superai.api is the typed client of the api option: its key, its base URL, one per registration', async (t) => {
  const api = await startFakeSuperai(t)
  const job = api.addJob({ appId: APP_ID })
  const { app } = await buildApp(t, { api: { apiKey: API_KEY, baseUrl: api.baseUrl } }, { memory: true })
  t.equal(app.superai.api, app.superai.api, 'one client, not one per access')
  t.equal(app.superai.api.baseUrl, api.baseUrl)
  t.match(await app.superai.api.getJob(job.uuid), { uuid: job.uuid, status: 'COMPLETED' })
  t.match(await app.superai.api.getJobResponse(job.uuid), { response: {} }, 'the output document, its `response` key holding the output')
  t.equal(api.requests.length, 2)
  t.same(api.requests.map((request) => [request.method, request.url, request.headers['api-key']]),
    [['GET', `/v1/jobs/${job.uuid}`, API_KEY], ['GET', `/v1/jobs/${job.uuid}/response`, API_KEY]])

  // another registration (another scope) has its own client and key
  const other = Fastify()
  t.teardown(() => other.close())
  await other.register(superaiCallbacks, { api: { apiKey: 'another-key', baseUrl: api.baseUrl } })
  await other.ready()
  t.not(other.superai.api, app.superai.api)
  await t.rejects(other.superai.api.getJob(job.uuid), { code: 'FST_SUPERAI_API_ERROR', status: 401 }, 'with its own key')
})

test('without api, every call of app.superai.api rejects with FST_SUPERAI_API_NOT_CONFIGURED and sends nothing', async (t) => {
  const api = await startFakeSuperai(t)
  const { app } = await buildApp(t, {}, { memory: true })
  const client = app.superai.api
  const uuid = '0f8e3c1a-2b4d-4e6f-8a9b-1c2d3e4f5a6b'
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['submitJobs', async () => await client.submitJobs(APP_ID, { inputs: [{}] })],
    ['getJob', async () => await client.getJob(uuid)],
    ['getJobResponse', async () => await client.getJobResponse(uuid)],
    ['cancelJob', async () => await client.cancelJob(uuid)],
    ['getBatch', async () => await client.getBatch(APP_ID, 'b')],
    ['listJobs', async () => await client.listJobs(APP_ID)],
    ['jobs', async () => { for await (const job of client.jobs(APP_ID)) t.fail(`no job: ${String(job.uuid)}`) }]
  ]
  for (const [name, call] of calls) {
    await t.rejects(call(), { code: 'FST_SUPERAI_API_NOT_CONFIGURED', message: new RegExp(`app\\.superai\\.api\\.${name}\\(\\).*"api" option`) }, name)
  }
  t.equal(api.requests.length, 0)
})

test('verify: true asks super.AI with the api option\'s key and base URL', async (t) => {
  const api = await startFakeSuperai(t)
  const body = callbackBody()
  api.putJob({ uuid: String(body.uuid) })
  const { app, post } = await buildApp(t, { api: { apiKey: API_KEY, baseUrl: api.baseUrl }, verify: true }, { memory: true })
  let runs = 0
  app.superai.onJobCompleted(() => { runs++ })
  t.same((await post(body)).json(), { ok: true, duplicate: false })
  t.equal(runs, 1)
  t.same(api.requests.map((request) => [request.url, request.headers['api-key']]), [[`/v1/jobs/${String(body.uuid)}`, API_KEY]])

  // a job that does not exist: the verification really ran, through api's key
  t.equal((await post(callbackBody())).statusCode, 422)
})

test('verify with a key of its own sends that key, to api\'s base URL', async (t) => {
  const api = await startFakeSuperai(t)
  const body = callbackBody()
  api.putJob({ uuid: String(body.uuid) })
  const { post } = await buildApp(t, { api: { apiKey: 'the-api-option-key', baseUrl: api.baseUrl }, verify: { apiKey: API_KEY } }, { memory: true })
  t.equal((await post(body)).statusCode, 200)
  t.same(api.requests.map((request) => request.headers['api-key']), [API_KEY])
})

test('reconcile: { appIds } lists with the api option\'s key and base URL', async (t) => {
  const api = await startFakeSuperai(t)
  const job = api.addJob({ appId: APP_ID })
  const { app } = await buildApp(t, { api: { apiKey: API_KEY, baseUrl: api.baseUrl }, reconcile: { appIds: [APP_ID], interval: 3600, lookback: 600 } })
  const seen: string[] = []
  app.superai.onJobCompleted((event) => { seen.push(event.uuid) })
  t.match(await app.superai.reconcile(), { listed: 1, dispatched: 1, failed: 0 })
  t.same(seen, [job.uuid])
  t.ok(api.lists.length >= 1 && api.lists.every((list) => list.appId === APP_ID))
  t.ok(api.requests.every((request) => request.headers['api-key'] === API_KEY))
})

test('createSuperaiWorker takes api: its client, and verify falls back to its key', async (t) => {
  const api = await startFakeSuperai(t)
  const job = api.addJob({ appId: APP_ID })
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const keyPrefix = uniquePrefix('worker-api')
  cleanUpAtTeardown(t, keyPrefix)
  const worker = await createSuperaiWorker({ redis: REDIS_URL, keyPrefix, queue, api: { apiKey: API_KEY, baseUrl: api.baseUrl }, verify: true })
  t.teardown(async () => { await worker.close() })
  t.match(await worker.api.getJob(job.uuid), { uuid: job.uuid })
  t.equal(api.requests[0]?.headers['api-key'], API_KEY)

  await t.rejects(createSuperaiWorker({ redis: REDIS_URL, keyPrefix, queue, verify: true }),
    { code: 'FST_SUPERAI_INVALID_OPTION', message: /"verify\.apiKey".*"api" option/ }, 'neither key: the option is named')
})
