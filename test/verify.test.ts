import { test, type Test } from 'tap'
import type { SuperaiJob } from '../src/index.js'
import { buildApp } from './helpers/app.js'
import { callbackBody } from './helpers/callbacks.js'
import { startFakeApi, type FakeApi, type FakeReply } from './helpers/fake-api.js'

const API_KEY = 'sk-test-api-key-do-not-log'

/** A fake super.AI API that knows some jobs; answers the rest with 404. */
async function fakeSuperai (t: Test, jobs: Map<string, Record<string, unknown>>, override?: () => FakeReply | undefined): Promise<FakeApi> {
  const api = await startFakeApi((request) => {
    const forced = override?.()
    if (forced !== undefined) return forced
    if (request.headers['api-key'] !== API_KEY) return { status: 401, body: { message: 'bad key' } }
    const uuid = /\/jobs\/([^/?]+)$/.exec(request.url)?.[1]
    const job = uuid === undefined ? undefined : jobs.get(uuid)
    return job === undefined ? { status: 404, body: { message: 'not found' } } : { status: 200, body: job }
  })
  t.teardown(() => api.close())
  return api
}

test('a callback whose job exists in that state is dispatched with context.job', async (t) => {
  const body = callbackBody()
  const uuid = String(body.uuid)
  const api = await fakeSuperai(t, new Map([[uuid, { uuid, id: 42, status: 'COMPLETED', appId: 'app-7' }]]))
  const { app, post, logs } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  const jobs: Array<SuperaiJob | undefined> = []
  app.superai.onJobCompleted((_event, { job }) => { jobs.push(job) })
  t.same((await post(body)).json(), { ok: true, duplicate: false })
  t.equal(jobs[0]?.appId, 'app-7')
  t.equal(api.requests.length, 1)
  t.equal(api.requests[0]?.method, 'GET')
  t.equal(api.requests[0]?.url, `/v1/jobs/${uuid}`)
  t.equal(api.requests[0]?.headers['api-key'], API_KEY)
  t.same((await post(body)).json(), { ok: true, duplicate: true })
  t.equal(api.requests.length, 1, 'a duplicate is answered without a fetch')
  t.notMatch(JSON.stringify(logs), API_KEY, 'the API key is never logged')
})

test('a state mismatch is refused (422), nothing dispatched, and the claim released', async (t) => {
  const body = callbackBody()
  const uuid = String(body.uuid)
  const jobs = new Map([[uuid, { uuid, status: 'IN_PROGRESS' } as Record<string, unknown>]])
  const api = await fakeSuperai(t, jobs)
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const res = await post(body)
  t.equal(res.statusCode, 422)
  t.equal(res.json().code, 'FST_SUPERAI_VERIFICATION_FAILED')
  t.equal(runs, 0)
  jobs.set(uuid, { uuid, status: 'COMPLETED' })
  t.same((await post(body)).json(), { ok: true, duplicate: false }, 'released: a later delivery is processed')
  t.equal(runs, 1)
})

test('an unknown job is refused', async (t) => {
  const api = await fakeSuperai(t, new Map())
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const res = await post(callbackBody())
  t.equal(res.statusCode, 422)
  t.match(res.json().message, 'no such job')
  t.equal(runs, 0)
})

test('an API slower than the timeout gives 503; a later retry succeeds', async (t) => {
  const body = callbackBody()
  const uuid = String(body.uuid)
  let slow = true
  const api = await fakeSuperai(t, new Map([[uuid, { uuid, status: 'COMPLETED' }]]), () => slow ? { status: 200, body: { uuid, status: 'COMPLETED' }, delay: 2000 } : undefined)
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

test('an API 500 gives 503 and nothing runs; a wrong API key too', async (t) => {
  const api = await fakeSuperai(t, new Map(), () => ({ status: 500, body: { message: 'boom' } }))
  const { app, post } = await buildApp(t, { verify: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  t.equal((await post(callbackBody())).statusCode, 503)
  const keyless = await fakeSuperai(t, new Map())
  const other = await buildApp(t, { verify: { apiKey: 'wrong-key', baseUrl: keyless.baseUrl } })
  t.equal((await other.post(callbackBody())).statusCode, 503, 'a rejected key is our problem, not the sender\'s')
  t.equal(runs, 0)
})

test('20 concurrent callbacks for one job share one fetch', async (t) => {
  const base = callbackBody()
  const uuid = String(base.uuid)
  const api = await fakeSuperai(t, new Map(), () => ({ status: 200, body: { uuid, status: 'COMPLETED', appId: 'a' }, delay: 200 }))
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
