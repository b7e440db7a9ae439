import fc from 'fast-check'
import t, { type Test } from 'tap'
import { createSuperaiClient, type SuperaiClient } from '../../src/client/client.js'
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js'

const APP = 'app-7'

async function start (t: Test, options: SandboxOptions = {}): Promise<{ sandbox: Sandbox, client: SuperaiClient, call: (path: string, init?: RequestInit) => Promise<{ status: number, body: unknown }> }> {
  const sandbox = await createSandbox({ seed: 1, ...options })
  t.teardown(() => sandbox.close())
  const client = createSuperaiClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl, retries: 0 })
  const call = async (path: string, init: RequestInit = {}): Promise<{ status: number, body: unknown }> => {
    const response = await fetch(sandbox.baseUrl + path, { ...init, headers: { 'API-KEY': sandbox.apiKey, ...init.headers as Record<string, string> } })
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) as unknown }
  }
  return { sandbox, client, call }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

t.test('a submitted job walks SCHEDULED -> IN_PROGRESS -> COMPLETED, one state a step; its job object changes with it', async (t) => {
  const { sandbox, client } = await start(t, { step: 0 })
  const submitted = await client.submitJobs(APP, { inputs: [{ documentUrl: 'https://example.com/a.pdf' }], metadata: { orderId: 'A-1' } })
  t.match(submitted, { message: '1 job submitted', batchId: /^[0-9a-f-]{36}$/, uuid: /^[0-9a-f-]{36}$/ })
  const uuid = String(submitted.uuid)
  const job = await client.getJob(uuid)
  t.match(job, {
    id: /^\d+$/,
    uuid,
    appId: APP,
    status: 'SCHEDULED',
    created: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    callbackUrl: null,
    input: { documentUrl: 'https://example.com/a.pdf' },
    metadata: { orderId: 'A-1' },
    tags: [],
    jobType: 'normal',
    batchId: submitted.batchId
  })
  t.notOk('completed' in job, 'no completed date before it ends')
  t.same(await client.getJob(String(job.id)), job, 'the dashboard id finds it too')
  await t.rejects(client.getJobResponse(uuid), { code: 'FST_SUPERAI_API_ERROR', message: /404/ }, 'no response before it completes')

  t.equal(sandbox.advance(uuid).status, 'IN_PROGRESS')
  t.equal((await client.getJob(uuid)).status, 'IN_PROGRESS')
  t.equal(sandbox.advance(uuid).status, 'COMPLETED')
  const completed = await client.getJob(uuid)
  t.match(completed, { status: 'COMPLETED', completed: /Z$/ })
  t.match(await client.getJobResponse(uuid), { uuid, status: 'COMPLETED', response: { input: { documentUrl: 'https://example.com/a.pdf' } } })
  t.equal(sandbox.advance(uuid).status, 'COMPLETED', 'its walk ended: advancing changes nothing')
  t.match(await client.getBatch(APP, String(submitted.batchId)), { uuid: submitted.batchId, appId: APP, status: 'COMPLETED', jobs: 1 })

  const timed = await start(t, { step: 40 })
  const { uuid: walking } = await timed.client.submitJobs(APP, { inputs: [{}] })
  const seen: string[] = []
  const deadline = Date.now() + 5000
  while (seen.at(-1) !== 'COMPLETED' && Date.now() < deadline) {
    const status = String((await timed.client.getJob(String(walking))).status)
    if (seen.at(-1) !== status) seen.push(status)
    await sleep(5)
  }
  t.same(seen, ['SCHEDULED', 'IN_PROGRESS', 'COMPLETED'], 'by itself, a state each step')
  await timed.sandbox.settled()
})

t.test('shares of jobs post-process or fail, on request; advance() reaches any documented state', async (t) => {
  const post = await start(t, { step: 0, postProcessing: 1 })
  const { uuid } = await post.client.submitJobs(APP, { inputs: [{}] })
  const path = [0, 1, 2, 3, 4].map(() => post.sandbox.advance(String(uuid)).status)
  t.ok(path.join() === 'IN_PROGRESS,COMPLETED,POST_PROCESSING,POST_PROCESSED,POST_PROCESSED' ||
    path.join() === 'IN_PROGRESS,COMPLETED,POST_PROCESSING,NEEDS_REVIEW,REVIEWED', path.join())
  const failing = await start(t, { step: 0, failures: 1 })
  const { uuid: doomed } = await failing.client.submitJobs(APP, { inputs: [{}] })
  failing.sandbox.advance(String(doomed))
  t.match(failing.sandbox.advance(String(doomed)), { status: 'FAILED', completed: /Z$/ })

  t.equal(post.sandbox.advance(String(uuid), 'needs review').status, 'NEEDS_REVIEW', 'either spelling')
  t.throws(() => post.sandbox.advance(String(uuid), 'ARCHIVED'), /not a documented job status/)
  t.throws(() => post.sandbox.advance('nope'), /no job nope/)
  t.throws(() => post.sandbox.update('nope', {}), /no job nope/)
  t.equal(post.sandbox.update(String(uuid), { tags: ['x'], metadata: undefined }).tags?.toString(), 'x')
  t.notOk('metadata' in (post.sandbox.job(String(uuid)) ?? {}), 'undefined removes a field')
})

t.test('the list: filters, sort and pages as documented, { jobs, pages }', async (t) => {
  const { sandbox, client, call } = await start(t, { step: 0 })
  const at = (minutesAgo: number): string => new Date(Date.now() - minutesAgo * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const jobs = Array.from({ length: 12 }, (_, i) => sandbox.addJob({ appId: APP, status: i % 3 === 0 ? 'FAILED' : 'COMPLETED', completed: at(i * 10), created: at(i * 10 + 5) }))
  sandbox.addJob({ appId: 'another', status: 'COMPLETED' })
  sandbox.addJob({ appId: APP, status: 'IN_PROGRESS' })

  const page0 = await client.listJobs(APP, { size: 5, page: 0 })
  t.equal(page0.pages, 3)
  t.equal(page0.jobs.length, 5)
  t.same(page0.jobs.map((job) => job.id), [...jobs.map((job) => job.id), sandbox.jobs(APP).at(-1)?.id].slice(0, 5), 'sorted by id by default')
  t.equal((await client.listJobs(APP, { size: 5, page: 2 })).jobs.length, 3)
  t.equal((await client.listJobs(APP, { size: 5, page: 3 })).jobs.length, 0)
  const desc = await client.listJobs(APP, { sortBy: 'completed', orderBy: 'desc', statusIn: ['COMPLETED'], size: 100 })
  t.equal(desc.jobs.length, 8)
  t.same(desc.jobs.map((job) => job.completed), [...desc.jobs.map((job) => String(job.completed))].sort().reverse())
  const recent = await client.listJobs(APP, { completedStartDate: new Date(Date.now() - 35 * 60_000), completedEndDate: new Date(), size: 100 })
  t.same(recent.jobs.map((job) => job.uuid).sort(), jobs.slice(0, 4).map((job) => job.uuid).sort(), 'completed within the window')
  const created = await client.listJobs(APP, { createdEndDate: new Date(Date.now() - 100 * 60_000), size: 100 })
  t.same(created.jobs.map((job) => job.uuid).sort(), jobs.slice(10).map((job) => job.uuid).sort(), 'created before')
  t.equal((await client.listJobs(APP, { statusIn: ['FAILED', 'IN_PROGRESS'], size: 100 })).jobs.length, 5, 'statusIn repeated')

  for (const query of ['page=-1', 'size=0', 'size=x', 'orderBy=up', 'sortBy=a%20b', 'completedStartDate=2024-01-01', 'createdEndDate=yesterday']) {
    const answer = await call(`/apps/${APP}/jobs?${query}`)
    t.equal(answer.status, 400, query)
    t.match(answer.body, { message: /must/ })
  }
})

t.test('refusals: a wrong key 401, an unknown job 404, a malformed submission 400, a job that ended cannot be canceled', async (t) => {
  const { sandbox, call } = await start(t, { step: 0 })
  for (const path of ['/jobs/1', `/apps/${APP}/jobs`, `/apps/${APP}/batches/b-1`]) {
    t.equal((await fetch(sandbox.baseUrl + path)).status, 401, `no key: ${path}`)
    t.equal((await fetch(sandbox.baseUrl + path, { headers: { 'API-KEY': 'wrong' } })).status, 401, `wrong key: ${path}`)
  }
  t.match(await call('/jobs/5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f10'), { status: 404, body: { message: /not found/ } })
  t.match(await call('/jobs/1/response'), { status: 404 })
  t.match(await call('/jobs/1/cancel', { method: 'POST' }), { status: 404 })
  t.match(await call(`/apps/${APP}/batches/unknown-batch`), { status: 404 })
  t.match(await call('/nothing'), { status: 404 })
  t.match(await call('/jobs/1', { method: 'DELETE' }), { status: 405 })

  const post = async (body: string, type = 'application/json'): Promise<{ status: number, body: unknown }> =>
    await call(`/apps/${APP}/jobs`, { method: 'POST', headers: { 'content-type': type }, body })
  for (const [body, message] of [
    ['', /empty/], ['{', /not valid JSON/], ['[]', /JSON object/], ['{}', /inputs must be a non-empty array/],
    ['{"inputs":[]}', /non-empty/], ['{"inputs":"x"}', /non-empty array/], ['{"inputsFileUrl":"ftp://example.com/in.json"}', /http\(s\) or data: URL/],
    ['{"inputs":[{}],"callbackUrl":"https://example.com/no-slash"}', /trailing slash/], ['{"inputs":[{}],"callbackUrl":5}', /callbackUrl must be a string/],
    ['{"inputs":[{}],"metadata":[1]}', /metadata must be an object/]
  ] as const) {
    t.match(await post(body), { status: 400, body: { message } }, body)
  }
  t.match(await post('{"inputs":[{}]}', 'text/plain'), { status: 415 })
  t.equal(sandbox.jobs().length, 0, 'nothing was created by a refusal')

  const partial = await post('{"inputs":[{},1,"x"]}')
  t.match(partial, { status: 200, body: { message: '1 job submitted, 2 inputs refused (not an object)' } })
  t.match(await call(`/apps/${APP}/batches/${String((partial.body as { batchId: string }).batchId)}`), { body: { status: 'PARTIAL_FAILURE', jobs: 1, refused: 2 } })
  const failed = await post('{"inputs":[null]}')
  t.match(await call(`/apps/${APP}/batches/${String((failed.body as { batchId: string }).batchId)}`), { body: { status: 'FAILED', jobs: 0 } })

  const [job] = sandbox.jobs()
  const canceled = await call(`/jobs/${String(job?.uuid)}/cancel`, { method: 'POST' })
  t.match(canceled, { status: 200, body: { uuid: job?.uuid, status: 'CANCELED', completed: /Z$/ } })
  t.match(await call(`/jobs/${String(job?.id)}/cancel`, { method: 'POST' }), { status: 400, body: { message: /is CANCELED: only SCHEDULED, IN_PROGRESS or SUSPENDED/ } })
})

t.test('intercept: a programmable failure mode, before the key check; delays are released on close', async (t) => {
  const { sandbox, client } = await start(t, { step: 0 })
  const job = sandbox.addJob({ appId: APP })
  sandbox.intercept((request) => request.url.endsWith('/slow') ? { status: 200, body: {}, delay: 60_000 } : request.method === 'GET' ? { status: 503, body: 'busy', headers: { 'retry-after': '0' } } : undefined)
  await t.rejects(client.getJob(job.uuid), { code: 'FST_SUPERAI_API_ERROR', message: /503/ })
  t.equal((await fetch(sandbox.baseUrl + '/jobs/x', { headers: { 'API-KEY': 'wrong' } })).status, 503, 'before the key check')
  sandbox.intercept(undefined)
  t.match(await client.getJob(job.uuid), { uuid: job.uuid })
  t.match(sandbox.requests.at(-1), { method: 'GET', url: `/v1/jobs/${job.uuid}`, headers: { 'api-key': sandbox.apiKey } })

  sandbox.intercept((request) => request.url.endsWith('/slow') ? { status: 200, body: {}, delay: 60_000 } : undefined)
  const slow = fetch(sandbox.baseUrl + '/slow').then((r) => r.status, () => 0)
  await sleep(50)
  const started = Date.now()
  await sandbox.close()
  t.ok(Date.now() - started < 5000, 'close does not wait for a delayed answer')
  t.ok([0, 200].includes(await slow))
})

t.test('fuzz: whatever is thrown at it, it answers (4xx, never 5xx) and keeps serving', async (t) => {
  const { sandbox, client } = await start(t, { step: 0 })
  const job = sandbox.addJob({ appId: APP })
  const segment = fc.oneof(fc.constantFrom('v1', 'jobs', 'apps', 'response', 'cancel', APP, job.uuid, '%', '%E0%A4%A', '..', ''), fc.string({ maxLength: 12 }).map(encodeURIComponent))
  const query = fc.array(fc.tuple(fc.constantFrom('page', 'size', 'sortBy', 'orderBy', 'statusIn', 'completedStartDate', 'x'), fc.string({ maxLength: 10 })), { maxLength: 4 })
  await fc.assert(fc.asyncProperty(
    fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), fc.array(segment, { minLength: 1, maxLength: 5 }), query,
    fc.oneof(fc.constant(undefined), fc.json({ maxDepth: 3 }), fc.string({ maxLength: 50 })), fc.boolean(),
    async (method, segments, params, body, keyed) => {
      const search = new URLSearchParams(params).toString()
      const url = `${sandbox.baseUrl.replace(/\/v1$/, '')}/${segments.join('/')}${search === '' ? '' : `?${search}`}`
      const response = await fetch(url, {
        method,
        headers: keyed ? { 'API-KEY': sandbox.apiKey, 'content-type': 'application/json' } : { 'content-type': 'application/json' },
        ...(body === undefined || method === 'GET' ? {} : { body })
      })
      await response.arrayBuffer()
      return response.status < 500
    }), { numRuns: 300, seed: 42 })
  t.match(await client.getJob(job.uuid), { uuid: job.uuid }, 'still serving')
})
