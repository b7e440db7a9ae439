import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { DOCUMENTED_JOB, documentedJob } from '../fixtures/superai-job.js'
import { startFakeApi, type FakeReply, type RecordedRequest } from './fake-api.js'

/** The API key the fake accepts; any other `API-KEY` is a 401. Tests check that it is never logged. */
export const API_KEY = 'sk-test-api-key-do-not-log'

/** A job the fake holds: a copy of the documented job object with its own uuid, id, app, status and dates. */
export type FakeJob = Record<string, unknown> & { uuid: string, id: string, appId: string, status: string, created: string, completed?: string }

/** One list request as the fake received it. */
export interface ListRequest {
  readonly appId: string
  readonly query: URLSearchParams
  readonly at: number
}

/** Answers a request before the fake serves it, when it returns a reply (a 500, a slow answer). */
export type Override = (request: RecordedRequest) => FakeReply | undefined

export interface FakeSuperai {
  /** `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string
  /** {@link API_KEY}. */
  readonly apiKey: string
  /** Every request, answered or failed, in order. */
  readonly requests: RecordedRequest[]
  /** Every list request, in order. */
  readonly lists: ListRequest[]
  /** Jobs by uuid: the fields that replace the documented job object's in the answer (`undefined` drops one). */
  readonly jobs: Map<string, Record<string, unknown>>
  /** Batches by `${appId}/${batchId}`, answered as stored; any other batch is a 404. */
  readonly batches: Map<string, Record<string, unknown>>
  /** Adds a job with a new uuid and id; `completed` defaults to now when its status has ended. */
  addJob (fields?: Partial<FakeJob>): FakeJob
  /** Changes a job (a later state keeps its `completed` date, as the API does). */
  update (uuid: string, fields: Record<string, unknown>): void
  /** Answers every request with `failure` (body `{ message }` unless given) until `fail(undefined)`. */
  fail (failure: FakeReply | undefined): void
}

const SDK_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const NOT_ENDED = new Set(['PENDING', 'SCHEDULED', 'IN_PROGRESS', 'NEEDS_WORK'])
const NOT_FOUND: FakeReply = { status: 404, body: { message: 'not found' } }

/** UTC to the second, as the API and its SDK write dates. */
export const apiDate = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/**
 * A stand-in for super.AI's REST API on 127.0.0.1, answering the documented routes and shapes:
 * `GET /v1/jobs/{uuid}` with a copy of the documented job object; `GET /v1/apps/{appId}/{batchId}` with a
 * batch; `GET /v1/apps/{appId}/jobs` filtered by the documented query (`completedStartDate`... in
 * `YYYY-MM-DDTHH:MM:SSZ`, repeated `statusIn`), sorted by `sortBy`/`orderBy` and paged with `page`/`size`,
 * as `{ jobs, pages }` plus a field of its own (the API may add some). A wrong `API-KEY` is a 401, what it
 * does not know a 404. `override`, then `fail()`, answer first. Closed at teardown.
 */
export async function startFakeSuperai (t: Test, override?: Override): Promise<FakeSuperai> {
  const jobs = new Map<string, Record<string, unknown>>()
  const batches = new Map<string, Record<string, unknown>>()
  const lists: ListRequest[] = []
  let failure: FakeReply | undefined
  let nextId = 1_000_000

  const list = (appId: string, query: URLSearchParams): FakeReply => {
    lists.push({ appId, query, at: Date.now() })
    for (const name of ['createdStartDate', 'createdEndDate', 'completedStartDate', 'completedEndDate']) {
      const value = query.get(name)
      if (value !== null && !SDK_DATE.test(value)) return { status: 400, body: { message: `${name} must be YYYY-MM-DDTHH:MM:SSZ` } }
    }
    const bound = (name: string): number | undefined => query.has(name) ? Date.parse(query.get(name) ?? '') : undefined
    const within = (value: unknown, start: number | undefined, end: number | undefined): boolean => {
      if (start === undefined && end === undefined) return true
      if (typeof value !== 'string') return false
      const at = Date.parse(value)
      return (start === undefined || at >= start) && (end === undefined || at <= end)
    }
    const statuses = query.getAll('statusIn')
    const selected = [...jobs.values()].map((fields) => documentedJob(fields)).filter((job) =>
      job.appId === appId &&
      within(job.created, bound('createdStartDate'), bound('createdEndDate')) &&
      within(job.completed, bound('completedStartDate'), bound('completedEndDate')) &&
      (statuses.length === 0 || statuses.includes(String(job.status))))
    const sortBy = query.get('sortBy') ?? 'id'
    const direction = query.get('orderBy') === 'desc' ? -1 : 1
    selected.sort((a, b) => direction * String(a[sortBy]).localeCompare(String(b[sortBy]), 'en', { numeric: true }))
    const page = Number(query.get('page') ?? 0)
    const size = Number(query.get('size') ?? 20)
    return {
      status: 200,
      body: { jobs: selected.slice(page * size, (page + 1) * size), pages: Math.ceil(selected.length / size), total: selected.length }
    }
  }

  const api = await startFakeApi((request) => {
    const forced = override?.(request)
    if (forced !== undefined) return forced
    if (failure !== undefined) return { body: { message: 'fake failure' }, ...failure }
    if (request.headers['api-key'] !== API_KEY) return { status: 401, body: { message: 'Invalid API key' } }
    if (request.method !== 'GET') return NOT_FOUND
    const url = new URL(request.url, 'http://fake')
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent)
    if (segments.length === 3 && segments[0] === 'v1' && segments[1] === 'jobs') {
      const fields = jobs.get(segments[2] ?? '')
      return fields === undefined ? NOT_FOUND : { status: 200, body: documentedJob(fields) }
    }
    if (segments.length === 4 && segments[0] === 'v1' && segments[1] === 'apps') {
      const [, , appId = '', rest = ''] = segments
      if (rest === 'jobs') return list(appId, url.searchParams)
      const batch = batches.get(`${appId}/${rest}`)
      return batch === undefined ? NOT_FOUND : { status: 200, body: batch }
    }
    return NOT_FOUND
  })
  t.teardown(() => api.close())

  return {
    baseUrl: api.baseUrl,
    apiKey: API_KEY,
    requests: api.requests,
    lists,
    jobs,
    batches,
    addJob (fields = {}) {
      const status = fields.status ?? 'COMPLETED'
      const job: FakeJob = {
        ...DOCUMENTED_JOB,
        id: String(nextId++),
        uuid: randomUUID(),
        created: apiDate(Date.now() - 60_000),
        completed: NOT_ENDED.has(status) ? undefined : apiDate(Date.now()),
        ...fields,
        status
      }
      jobs.set(job.uuid, job)
      return job
    },
    update (uuid, fields) {
      const job = jobs.get(uuid)
      if (job === undefined) throw new Error(`no job ${uuid}`)
      Object.assign(job, fields)
    },
    fail (next) { failure = next }
  }
}
