import { createServer, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { unzipSync } from 'fflate'
import t, { type Test } from 'tap'
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js'
import { SDK_REQUESTS } from '../fixtures/sdk-requests.js'

/**
 * super.AI's own SDK pointed at the sandbox: each request built as `superai/apis/jobs.py` builds it (every
 * optional argument given, Python's `requests` writing the query: a list's name once per value, booleans
 * `True`/`False`; a JSON body), answered as the SDK reads it.
 */

const APP = 'app-sdk'
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

interface Sdk {
  readonly sandbox: Sandbox
  /** One SDK request; `query` values in Python's spelling. */
  readonly send: (method: string, path: string, query?: ReadonlyArray<readonly [string, string]>, body?: unknown) => Promise<{ status: number, body: Record<string, unknown> }>
}

async function start (t: Test, options: SandboxOptions = {}): Promise<Sdk> {
  const sandbox = await createSandbox({ step: 0, duplicates: 0, seed: 'sdk', ...options })
  t.teardown(() => sandbox.close())
  const send: Sdk['send'] = async (method, path, query = [], body) => {
    const search = new URLSearchParams(query.map(([name, value]): [string, string] => [name, value])).toString()
    const response = await fetch(`${sandbox.baseUrl}/${path}${search === '' ? '' : `?${search}`}`, {
      method,
      headers: { 'API-KEY': sandbox.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) }
  }
  return { sandbox, send }
}

/** A loopback HTTP server: serves `file` at /inputs.json and records every POSTed callback. */
async function startHelper (t: Test, file: unknown): Promise<{ url: string, callbacks: Array<Record<string, unknown>> }> {
  const callbacks: Array<Record<string, unknown>> = []
  const server = createServer((request: IncomingMessage, response) => {
    let text = ''
    request.on('data', (chunk: Buffer) => { text += chunk.toString() })
    request.on('end', () => {
      if (request.method === 'POST') callbacks.push(JSON.parse(text) as Record<string, unknown>)
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(request.method === 'GET' ? JSON.stringify(file) : '{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, callbacks }
}

const WIDE_DATES: ReadonlyArray<readonly [string, string]> = [
  ['createdStartDate', '2000-01-01T00:00:00Z'], ['createdEndDate', '2100-01-01T00:00:00Z'],
  ['completedStartDate', '2000-01-01T00:00:00Z'], ['completedEndDate', '2100-01-01T00:00:00Z']
]

t.test('every JobsApiMixin request, as the SDK sends it, answered as the SDK reads it', async (t) => {
  const { sandbox, send } = await start(t)
  const helper = await startHelper(t, [{ n: 2 }])
  const callbackUrl = `${helper.url}/cb/`

  // create_jobs: every body name; one input given, one in the file
  const created = await send('POST', `apps/${APP}/jobs`, [], {
    callbackUrl, inputs: [{ n: 1 }], inputsFileUrl: `${helper.url}/inputs.json`, metadata: { order: 'A-1' }, labeler: 'worker@example.com', pending: true, tags: 'urgent'
  })
  t.match(created, { status: 200, body: { batchId: /^[0-9a-f-]{36}$/, message: '2 jobs submitted' } })
  const batchId = String(created.body.batchId)
  const [first, second] = sandbox.jobs(APP)
  t.match(first, { status: 'PENDING', input: { n: 1 }, tags: ['urgent'], labeler: 'worker@example.com', metadata: { order: 'A-1' }, callbackUrl })
  t.match(second, { status: 'PENDING', input: { n: 2 } }, 'the inputs file was fetched')
  const job = String(first?.uuid)
  const other = String(second?.uuid)

  // fetch_batches_job: a JSON array of batch objects; fetch_batch_job
  t.match(await send('GET', `apps/${APP}/batches`), { status: 200, body: [{ uuid: batchId, appId: APP, jobs: 2 }] })
  t.match(await send('GET', `apps/${APP}/batches/${batchId}`), { status: 200, body: { uuid: batchId, status: 'COMPLETED' } })
  t.match(await send('GET', `apps/${APP}/${batchId}`), { status: 404 }, 'not at the path the SDK left in 2020')

  t.match(await send('GET', `jobs/${job}`), { status: 200, body: { uuid: job, status: 'PENDING' } })
  t.match(await send('POST', `jobs/${job}/cancel`), { status: 400, body: { message: /only SCHEDULED, IN_PROGRESS or SUSPENDED/ } }, 'the SDK: not a PENDING job')
  sandbox.advance(job)
  sandbox.advance(job)
  sandbox.advance(job)
  t.equal(sandbox.job(job)?.status, 'COMPLETED')
  t.match(await send('GET', `jobs/${job}/response`), { status: 200, body: { uuid: job, response: { input: { n: 1 } } } })

  // list_jobs: every query name
  const listed = await send('GET', `apps/${APP}/jobs`, [
    ['page', '0'], ['size', '10'], ['sortBy', 'id'], ['orderBy', 'asc'], ...WIDE_DATES, ['statusIn', 'COMPLETED'], ['statusIn', 'REVIEWED'], ['tags', 'urgent'], ['correct', 'False']
  ])
  t.match(listed, { status: 200, body: { jobs: [], pages: 0 } }, 'no job judged incorrect yet')

  // add_tags, delete_tags
  t.match(await send('PUT', `apps/${APP}/jobs/tags`, [['idSearch', String(first?.id)]], { tags: 'invoice' }), { status: 200, body: [{ uuid: job, tags: ['urgent', 'invoice'] }] })
  t.match(await send('DELETE', `apps/${APP}/jobs/tags`, [['batchId', batchId], ['idSearch', job], ['createdStartDate', '2000-01-01T00:00:00Z']], { tags: 'urgent' }),
    { status: 200, body: [{ uuid: job, tags: ['invoice'] }] })

  // review_job: a new response and a verdict
  t.match(await send('PATCH', `jobs/${job}/review`, [], { response: { total: 12 }, correct: true }), { status: 200, body: { uuid: job, status: 'REVIEWED', correct: true } })
  t.match(await send('GET', `jobs/${job}/response`), { body: { response: { total: 12 } } }, 'the reviewed response is served next')
  t.match(await send('GET', `apps/${APP}/jobs`, [['correct', 'True'], ['tags', 'invoice']]), { body: { jobs: [{ uuid: job, correct: true }], pages: 1 } })

  // download_jobs, get_jobs_operation, generates_downloaded_jobs_url, then the bare GET of the full flow
  const started = await send('POST', `apps/${APP}/job_responses`, [
    ...WIDE_DATES, ['statusIn', 'REVIEWED'], ['sendEmail', 'False'], ['withHistory', 'True'], ['batchId', batchId], ['idSearch', job]
  ])
  t.match(started, { status: 200, body: { operationId: Number } })
  const operation = String(started.body.operationId)
  t.match(await send('GET', `operations/${APP}/${operation}`), { status: 200, body: { id: Number(operation), status: 'COMPLETED' } })
  const url = await send('POST', `operations/${APP}/${operation}/download-url`, [['secondsTtl', '60']])
  t.match(url, { status: 200, body: { downloadUrl: /^http:\/\/127\.0\.0\.1:\d+\// } })
  const zip = await fetch(String(url.body.downloadUrl))
  t.equal(zip.status, 200, 'no API-KEY needed')
  const files = unzipSync(new Uint8Array(await zip.arrayBuffer()))
  t.equal(Object.keys(files).length, 1, 'one file')
  const exported = JSON.parse(new TextDecoder().decode(Object.values(files)[0])) as unknown
  t.match(exported, [{ uuid: job, status: 'REVIEWED', correct: true, tags: ['invoice'], response: { total: 12 } }])
  t.equal((exported as unknown[]).length, 1, 'only the job the filters select')

  sandbox.advance(other)
  t.match(await send('POST', `jobs/${other}/cancel`), { status: 200, body: { uuid: other, status: 'CANCELED' } })

  // the requests sent were the SDK's, every one of them
  for (const expected of SDK_REQUESTS) {
    const pattern = new RegExp(`^/v1/${expected.path.replace(/\{\w+\}/g, '[^/]+')}(\\?|$)`)
    const sent = sandbox.requests.filter((request) => request.method === expected.method && pattern.test(request.url))
    t.ok(sent.length > 0, `${expected.sdk} was sent`)
    const names = new Set(sent.flatMap((request) => [...new URL(request.url, 'http://x').searchParams.keys()]))
    t.same([...names].sort(), [...expected.query].sort(), `${expected.sdk}: every query name`)
  }

  // the callbacks carried the job's state at that moment
  await sandbox.settled()
  const mine = helper.callbacks.filter((callback) => callback.uuid === job).map((callback) => `${String(callback.action)}:${String(callback.state)}`)
  // the three of the review leave together, so may arrive in any order
  t.same(mine.slice(0, 3), ['RESOLVED:COMPLETED', 'TAG ADDED:COMPLETED', 'TAG REMOVED:COMPLETED'])
  t.same(mine.slice(3).sort(), ['ACCEPTED:REVIEWED', 'EDITED:REVIEWED', 'RESOLVED:REVIEWED'])
  t.match(helper.callbacks.find((callback) => callback.action === 'TAG ADDED'), { tags: ['invoice'] })
})

t.test('a pending job waits in PENDING; inputsFileUrl may be a data: URL', async (t) => {
  const { sandbox, send } = await start(t, { step: 10 })
  const file = `data:application/json,${encodeURIComponent(JSON.stringify([{ n: 1 }]))}`
  const { body } = await send('POST', `apps/${APP}/jobs`, [], { inputsFileUrl: file, pending: true })
  await sleep(100)
  t.equal(sandbox.job(String(body.uuid))?.status, 'PENDING', 'ten steps later, still parked')
  t.equal(sandbox.advance(String(body.uuid)).status, 'SCHEDULED', 'advance starts it')
  await sandbox.settled()
  t.equal(sandbox.job(String(body.uuid))?.status, 'COMPLETED', 'then it walks')
  t.match(await send('POST', `apps/${APP}/jobs`, [], { inputsFileUrl: 'data:application/json,{"not":"a list"}' }), { status: 400, body: { message: /JSON array/ } })
  t.match(await send('POST', `apps/${APP}/jobs`, [], { inputsFileUrl: 'http://127.0.0.1:1/inputs.json' }), { status: 400, body: { message: /could not be fetched/ } })
})

t.test('bad input to the new endpoints: a 4xx with a message, and nothing about the job changes', async (t) => {
  const { sandbox, send } = await start(t, { callbackUrl: 'http://127.0.0.1:1/cb/', giveUpAfter: 1 })
  const job = sandbox.addJob({ appId: APP, tags: ['a'], correct: null, batchId: 'b-1' })
  const walking = sandbox.addJob({ appId: APP, status: 'IN_PROGRESS' })
  const operation = (await send('POST', `apps/${APP}/job_responses`)).body.operationId as number
  const refusals: ReadonlyArray<readonly [string, Promise<{ status: number, body: Record<string, unknown> }>, number, RegExp]> = [
    ['add: no tags', send('PUT', `apps/${APP}/jobs/tags`, [['idSearch', job.uuid]], {}), 400, /tags must be/],
    ['add: empty tags', send('PUT', `apps/${APP}/jobs/tags`, [['idSearch', job.uuid]], { tags: [] }), 400, /tags must be/],
    ['add: a tag that is not a string', send('PUT', `apps/${APP}/jobs/tags`, [['idSearch', job.uuid]], { tags: [5] }), 400, /tags must be/],
    ['add: no idSearch', send('PUT', `apps/${APP}/jobs/tags`, [], { tags: 'x' }), 400, /idSearch/],
    ['add: an unknown job', send('PUT', `apps/${APP}/jobs/tags`, [['idSearch', 'nope']], { tags: 'x' }), 404, /no job/],
    ['add: a job of another app', send('PUT', 'apps/other/jobs/tags', [['idSearch', job.uuid]], { tags: 'x' }), 404, /no job/],
    ['remove: no tags', send('DELETE', `apps/${APP}/jobs/tags`, [['idSearch', job.uuid]], { tags: '' }), 400, /tags must be/],
    ['remove: a bad date', send('DELETE', `apps/${APP}/jobs/tags`, [['createdStartDate', 'yesterday']], { tags: 'a' }), 400, /createdStartDate/],
    ['list: correct not a boolean', send('GET', `apps/${APP}/jobs`, [['correct', 'maybe']]), 400, /correct must be true or false/],
    ['review: neither field', send('PATCH', `jobs/${job.uuid}/review`, [], {}), 400, /needs response .* or correct/],
    ['review: an empty response alone', send('PATCH', `jobs/${job.uuid}/review`, [], { response: {} }), 400, /needs response/],
    ['review: correct not a boolean', send('PATCH', `jobs/${job.uuid}/review`, [], { correct: 'yes' }), 400, /correct must be true or false/],
    ['review: a response that is not an object', send('PATCH', `jobs/${job.uuid}/review`, [], { response: [1], correct: true }), 400, /response must be an object/],
    ['review: not JSON', send('PATCH', `jobs/${job.uuid}/review`), 400, /empty/],
    ['review: a job without output', send('PATCH', `jobs/${walking.uuid}/review`, [], { correct: true }), 409, /only a job with an output/],
    ['review: an unknown job', send('PATCH', 'jobs/nope/review', [], { correct: true }), 404, /not found/],
    ['export: sendEmail not a boolean', send('POST', `apps/${APP}/job_responses`, [['sendEmail', 'no']]), 400, /sendEmail/],
    ['an unknown operation', send('GET', `operations/${APP}/999`), 404, /operation 999/],
    ['an operation of another app', send('GET', `operations/other/${operation}`), 404, /operation/],
    ['a download URL for an unknown operation', send('POST', `operations/${APP}/999/download-url`), 404, /operation 999/],
    ['a secondsTtl of 0', send('POST', `operations/${APP}/${operation}/download-url`, [['secondsTtl', '0']]), 400, /secondsTtl/],
    ['a wrong method', send('POST', `apps/${APP}/jobs/tags`, [], { tags: 'x' }), 405, /method not allowed/]
  ]
  for (const [what, answer, status, message] of refusals) t.match(await answer, { status, body: { message } }, what)
  t.same(sandbox.job(job.uuid), job, 'the job is as it was')
  t.same(sandbox.job(walking.uuid), walking)
  t.equal(sandbox.deliveries.length, 0, 'no callback')
})

t.test('a download URL: no API key; a forged or expired one is a 403', async (t) => {
  const { sandbox, send } = await start(t)
  sandbox.addJob({ appId: APP })
  const operation = (await send('POST', `apps/${APP}/job_responses`)).body.operationId as number
  const { downloadUrl } = (await send('POST', `operations/${APP}/${operation}/download-url`, [['secondsTtl', '1']])).body as { downloadUrl: string }
  t.equal((await fetch(downloadUrl)).status, 200)
  const forged = new URL(downloadUrl)
  forged.searchParams.set('expires', String(Number(forged.searchParams.get('expires')) + 3600))
  t.match(await (await fetch(forged)).json(), { message: /signature does not match/ })
  t.equal((await fetch(forged)).status, 403)
  const other = new URL(downloadUrl)
  other.pathname = other.pathname.replace(`/${operation}/`, `/${operation + 1}/`)
  t.equal((await fetch(other)).status, 403, 'a signature is for one operation')
  t.equal((await fetch(downloadUrl.replace(/signature=[^&]+/, 'signature=x'))).status, 403)
  t.equal((await fetch(downloadUrl, { method: 'POST' })).status, 405)
  await sleep(2100)
  const expired = await fetch(downloadUrl)
  t.equal(expired.status, 403)
  t.match(await expired.json(), { message: /expired/ })
})

t.test('an export polls IN_PROGRESS for a step; its download URL waits for COMPLETED', async (t) => {
  const { sandbox, send } = await start(t, { step: 200 })
  sandbox.addJob({ appId: APP })
  const operation = (await send('POST', `apps/${APP}/job_responses`)).body.operationId as number
  t.match(await send('GET', `operations/${APP}/${operation}`), { body: { status: 'IN_PROGRESS' } })
  t.match(await send('POST', `operations/${APP}/${operation}/download-url`), { status: 409, body: { message: /not COMPLETED/ } })
  await sleep(250)
  t.match(await send('GET', `operations/${APP}/${operation}`), { body: { status: 'COMPLETED' } })
})
