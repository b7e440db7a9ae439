import { randomUUID } from 'node:crypto'
import { test } from 'tap'
import type { HandlerContext } from '../../src/index.js'
import { buildApp, warnLines } from '../helpers/app.js'
import { callbackBody } from '../helpers/callbacks.js'
import { API_KEY, startFakeSuperai } from '../helpers/fake-superai.js'
import { DOCUMENTED_JOB, documentedJob } from '../fixtures/superai-job.js'

const APP_ID = DOCUMENTED_JOB.appId

test('a genuine callback passes: handlers run once, context.job is the job as fetched', async (t) => {
  const api = await startFakeSuperai(t)
  const body = callbackBody()
  const uuid = String(body.uuid)
  api.putJob({ uuid })
  const { app, post, logs } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  const contexts: HandlerContext[] = []
  app.superai.onJobCompleted((_event, context) => { contexts.push(context) })
  t.same((await post(body)).json(), { ok: true, duplicate: false })
  t.equal(contexts.length, 1)
  t.same(contexts[0]?.job, documentedJob({ uuid }), 'the documented job object, as the API answered it')
  t.equal(contexts[0]?.job?.status, 'COMPLETED')
  t.equal(contexts[0]?.batch, undefined)
  t.equal(api.requests.length, 1)
  t.equal(api.requests[0]?.method, 'GET')
  t.equal(api.requests[0]?.url, `/v1/jobs/${uuid}`)
  t.equal(api.requests[0]?.headers['api-key'], API_KEY)
  t.same((await post(body)).json(), { ok: true, duplicate: true })
  t.equal(api.requests.length, 1, 'a duplicate is answered without a fetch')
  t.equal(contexts.length, 1, 'and runs nothing')
  t.notMatch(JSON.stringify(logs), API_KEY, 'the API key is never logged')
})

test('a late callback passes: the job has already moved on along the lifecycle', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  const seen: string[] = []
  app.superai.onCallback((event, { job }) => { seen.push(`${event.state}/${event.action}<${String(job?.status)}`) })
  const cases: Array<[state: string, action: string, status: string]> = [
    ['COMPLETED', 'RESOLVED', 'POST_PROCESSING'],
    ['COMPLETED', 'RESOLVED', 'POST_PROCESSED'],
    ['COMPLETED', 'RESOLVED', 'NEEDS_REVIEW'],
    ['COMPLETED', 'RESOLVED', 'REVIEWED'],
    ['POST PROCESSING', 'RESOLVED', 'REVIEWED'],
    ['SUSPENDED', 'RESOLVED', 'IN_PROGRESS'],
    ['SUSPENDED', 'RESOLVED', 'COMPLETED'],
    // an edit carries the job's state when it was made: the same rule applies
    ['COMPLETED', 'EDITED', 'POST_PROCESSED']
  ]
  for (const [state, action, status] of cases) {
    const body = callbackBody({ state, action })
    api.putJob({ uuid: body.uuid, status })
    const reply = await post(body)
    t.equal(reply.statusCode, 200, `${state}/${action} while the job is ${status}`)
  }
  t.same(seen, cases.map(([state, action, status]) => `${state}/${action}<${status}`), 'each dispatched once, with the job as fetched')
})

test('a callback ahead of the API is 503 (retried), then runs once the API has caught up', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post, logs } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const cases: Array<[state: string, status: string]> = [
    ['POST PROCESSED', 'COMPLETED'], ['COMPLETED', 'IN_PROGRESS'], ['COMPLETED', 'SCHEDULED'], ['COMPLETED', 'SUSPENDED'],
    ['REVIEWED', 'NEEDS_REVIEW'], ['FAILED', 'PENDING']
  ]
  for (const [state, status] of cases) {
    const body = callbackBody({ state })
    api.putJob({ uuid: body.uuid, status })
    const reply = await post(body)
    t.equal(reply.statusCode, 503, `${state} while the job is ${status}`)
    t.equal(reply.json().code, 'FST_SUPERAI_VERIFY_API_BEHIND')
    t.match(reply.json().message, 'has not caught up')
  }
  t.equal(runs, 0)
  t.same(warnLines(logs), [], 'a 503 is no refusal')
  const body = callbackBody({ state: 'POST PROCESSED' })
  api.putJob({ uuid: body.uuid, status: 'POST_PROCESSING' })
  t.equal((await post(body)).statusCode, 503)
  api.update(String(body.uuid), { status: 'POST_PROCESSED' })
  t.same((await post(body)).json(), { ok: true, duplicate: false }, 'the claim was released: the redelivery runs')
  t.equal(runs, 1)
  t.equal(app.superai.stats().verifyUnavailable, cases.length + 1)
})

test('a callback the job can no longer reach is 422, nothing runs, one warn line each', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post, logs } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const cases: Array<[state: string, status: string]> = [
    ['COMPLETED', 'FAILED'], ['CANCELED', 'COMPLETED'], ['REVIEWED', 'POST_PROCESSED'], ['EXPIRED', 'CANCELED'], ['FAILED', 'POST_PROCESSING']
  ]
  for (const [index, [state, status]] of cases.entries()) {
    const body = callbackBody({ state })
    api.putJob({ uuid: body.uuid, status })
    const reply = await post(body)
    t.equal(reply.statusCode, 422, `${state} while the job is ${status}`)
    t.equal(reply.json().code, 'FST_SUPERAI_VERIFICATION_FAILED')
    const warns = warnLines(logs)
    t.equal(warns.length, index + 1, 'exactly one warn line for the refusal')
    t.match(warns[index], { code: 'FST_SUPERAI_VERIFICATION_FAILED', statusCode: 422, uuid: body.uuid, state, reason: /never leads to/ })
  }
  t.equal(runs, 0)
  t.equal(app.superai.stats().rejected, cases.length)
})

test('verify.appIds: a job of another project is 422; a listed one passes', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post, logs } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl, appIds: [APP_ID] } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const ours = callbackBody()
  api.putJob({ uuid: ours.uuid })
  t.equal((await post(ours)).statusCode, 200)
  const theirs = callbackBody()
  api.putJob({ uuid: theirs.uuid, appId: randomUUID() })
  const refused = await post(theirs)
  t.equal(refused.statusCode, 422)
  t.match(refused.json().message, 'another project')
  const anonymous = callbackBody()
  api.putJob({ uuid: anonymous.uuid, appId: undefined })
  t.equal((await post(anonymous)).statusCode, 422, 'a job without appId cannot be placed in a project')
  t.equal(runs, 1)
  t.equal(warnLines(logs).length, 2)
})

test('an undocumented status cannot be placed in the lifecycle: accepted, with a warning', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post, logs } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onJobCompleted(() => { runs++ })
  const body = callbackBody()
  api.putJob({ uuid: body.uuid, status: 'ARCHIVED' })
  t.equal((await post(body)).statusCode, 200)
  t.equal(runs, 1)
  t.match(warnLines(logs), [{ jobStatus: 'ARCHIVED', callbackState: 'COMPLETED' }])
})

test('a job object without status is the API\'s fault: 503', async (t) => {
  const api = await startFakeSuperai(t)
  const { post, logs } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  const body = callbackBody()
  api.putJob({ uuid: body.uuid, status: undefined })
  const reply = await post(body)
  t.equal(reply.statusCode, 503)
  t.equal(reply.json().code, 'FST_SUPERAI_VERIFY_UNAVAILABLE')
  t.same(warnLines(logs), [])
})

test('an unknown job is refused (422)', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const res = await post(callbackBody())
  t.equal(res.statusCode, 422)
  t.match(res.json().message, 'no such job')
  t.equal(runs, 0)
})

test('an API slower than the timeout gives 503; a later retry succeeds', async (t) => {
  let slow = true
  const api = await startFakeSuperai(t, () => slow ? { status: 200, body: DOCUMENTED_JOB, delay: 2000 } : undefined)
  const body = callbackBody()
  api.putJob({ uuid: body.uuid })
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl, timeout: 200 } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const started = Date.now()
  const res = await post(body)
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_SUPERAI_VERIFY_UNAVAILABLE')
  t.ok(Date.now() - started < 1500, 'bounded by the timeout')
  t.equal(runs, 0)
  slow = false
  t.same((await post(body)).json(), { ok: true, duplicate: false })
  t.equal(runs, 1)
})

test('an API 500 or 429 gives 503 and nothing runs; a wrong API key too', async (t) => {
  let status = 500
  const api = await startFakeSuperai(t, () => ({ status, body: { message: 'boom' } }))
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  t.equal((await post(callbackBody())).statusCode, 503)
  status = 429
  t.equal((await post(callbackBody())).statusCode, 503)
  const keyless = await startFakeSuperai(t)
  const other = await buildApp(t, { verify: { apiKey: 'wrong-key', baseUrl: keyless.baseUrl } })
  t.equal((await other.post(callbackBody())).statusCode, 503, 'a rejected key is our problem, not the sender\'s')
  t.equal(runs, 0)
})

test('20 concurrent callbacks for one job share one fetch', async (t) => {
  const base = callbackBody()
  const uuid = String(base.uuid)
  const api = await startFakeSuperai(t, () => ({ status: 200, body: documentedJob({ uuid }), delay: 200 }))
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onJobEdited(() => { runs++ })
  // distinct callbacks (edits: each its own key) for one job, plus identical repeats of the first
  const bodies = Array.from({ length: 20 }, (_, i) => ({ ...base, action: 'EDITED', seq: i < 15 ? i : 0 }))
  const replies = await Promise.all(bodies.map((body) => post(body)))
  t.equal(api.requests.length, 1, 'one fetch')
  t.equal(runs, 15, 'each distinct callback dispatched once')
  t.equal(replies.filter((r) => r.statusCode === 200).length + replies.filter((r) => r.statusCode === 409).length, 20)
})

/** A v2 batch callback as super.AI documents it. */
const batchBody = (fields: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ version: '2', entityType: 'batch', entityId: randomUUID(), state: 'COMPLETED', appId: APP_ID, ...fields })

test('a batch callback is verified with GET /apps/{appId}/batches/{entityId}: 2xx passes, 404 is 422, 5xx is 503', async (t) => {
  let failing = false
  const api = await startFakeSuperai(t, () => failing ? { status: 502, body: 'bad gateway' } : undefined)
  const { app, post, logs } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  const contexts: HandlerContext[] = []
  app.superai.onBatchCompleted((_event, context) => { contexts.push(context) })
  const body = batchBody()
  const stored = { id: body.entityId, appId: APP_ID, jobs: 3 }
  api.addBatch(APP_ID, String(body.entityId), stored)
  t.same((await post(body)).json(), { ok: true, duplicate: false })
  t.equal(api.requests[0]?.url, `/v1/apps/${APP_ID}/batches/${String(body.entityId)}`)
  t.equal(api.requests[0]?.headers['api-key'], API_KEY)
  t.same(contexts[0]?.batch, stored, 'context.batch is the batch as fetched')
  t.equal(contexts[0]?.job, undefined)

  const unknown = await post(batchBody())
  t.equal(unknown.statusCode, 422)
  t.match(unknown.json().message, 'no such batch')
  t.match(warnLines(logs), [{ code: 'FST_SUPERAI_VERIFICATION_FAILED', entityType: 'batch' }])

  const noApp = batchBody({ appId: undefined })
  t.equal((await post(noApp)).statusCode, 422, 'a batch callback without appId cannot be fetched')
  failing = true
  t.equal((await post(batchBody())).statusCode, 503)
  t.equal(contexts.length, 1)
  t.equal(warnLines(logs).length, 2, 'one warn line per refusal, none for the 503')
})

test('verify.appIds refuses a batch of another project without asking the API', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl, appIds: [APP_ID] } })
  let runs = 0
  app.superai.onEntity(() => { runs++ })
  const reply = await post(batchBody({ appId: randomUUID() }))
  t.equal(reply.statusCode, 422)
  t.match(reply.json().message, 'another project')
  t.equal(api.requests.length, 0)
  t.equal(runs, 0)
})

test('verify.appIds is checked at register time', async (t) => {
  const api = await startFakeSuperai(t)
  for (const appIds of [[], [''], 'one', [1]]) {
    await t.rejects(buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl, appIds: appIds as string[] } }),
      { code: 'FST_SUPERAI_INVALID_OPTION', message: /verify\.appIds/ })
  }
})
