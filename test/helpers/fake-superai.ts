import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { documentedJob } from '../fixtures/superai-job.js'

/** A job the fake holds: a copy of the documented job object with its own uuid, id, app, status and dates. */
export type FakeJob = Record<string, unknown> & { uuid: string, id: string, appId: string, status: string, created: string, completed?: string }

/** How the fake answers every request for a while instead of serving it (an outage, a rate limit, a slow API). */
export interface FakeFailure {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** Milliseconds before the answer. */
  readonly delay?: number
}

/** One list request as the fake received it. */
export interface ListRequest {
  readonly appId: string
  readonly query: URLSearchParams
  readonly at: number
}

export interface FakeSuperai {
  /** `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string
  readonly apiKey: string
  /** Every list request, in order. */
  readonly lists: ListRequest[]
  /** Every request, answered or failed. */
  readonly requests: number
  /** Adds a job (documented shape); `completed` defaults to now when its status has ended. */
  addJob (fields?: Partial<FakeJob>): FakeJob
  /** Changes a job (a later state keeps its `completed` date, as the API does). */
  update (uuid: string, fields: Partial<FakeJob>): FakeJob
  /** Answers every request with `failure` until `fail(undefined)`. */
  fail (failure: FakeFailure | undefined): void
  close (): Promise<void>
}

const SDK_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const NOT_ENDED = new Set(['PENDING', 'SCHEDULED', 'IN_PROGRESS', 'NEEDS_WORK'])

/** UTC to the second, as the API and its SDK write dates. */
export const apiDate = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/**
 * A stand-in for super.AI's REST API on 127.0.0.1, holding jobs: `GET /v1/apps/:appId/jobs` filters by the
 * documented query (`completedStartDate`... in `YYYY-MM-DDTHH:MM:SSZ`, repeated `statusIn`), sorts by
 * `sortBy`/`orderBy` and pages with `page`/`size`, answering `{ jobs, pages }` plus a field of its own
 * (the API may add some); `GET /v1/jobs/:uuid` answers the job. A wrong `API-KEY` is a 401.
 */
export async function startFakeSuperai ({ apiKey = 'test-api-key' }: { apiKey?: string } = {}): Promise<FakeSuperai> {
  const jobs = new Map<string, FakeJob>()
  const lists: ListRequest[] = []
  let failure: FakeFailure | undefined
  let requests = 0
  let nextId = 1_000_000
  const app = Fastify()

  app.addHook('onRequest', async (request, reply) => {
    requests++
    if (failure !== undefined) {
      if (failure.delay !== undefined) await new Promise((resolve) => setTimeout(resolve, failure?.delay))
      return await reply.code(failure.status).headers(failure.headers ?? {}).send({ message: 'fake failure' })
    }
    if (request.headers['api-key'] !== apiKey) return await reply.code(401).send({ message: 'Invalid API key' })
  })

  app.get<{ Params: { appId: string } }>('/v1/apps/:appId/jobs', async (request, reply) => {
    const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1))
    lists.push({ appId: request.params.appId, query, at: Date.now() })
    for (const name of ['createdStartDate', 'createdEndDate', 'completedStartDate', 'completedEndDate']) {
      const value = query.get(name)
      if (value !== null && !SDK_DATE.test(value)) return await reply.code(400).send({ message: `${name} must be YYYY-MM-DDTHH:MM:SSZ` })
    }
    const bound = (name: string): number | undefined => query.has(name) ? Date.parse(query.get(name) ?? '') : undefined
    const within = (value: string | undefined, start: number | undefined, end: number | undefined): boolean => {
      if (start === undefined && end === undefined) return true
      if (value === undefined) return false
      const at = Date.parse(value)
      return (start === undefined || at >= start) && (end === undefined || at <= end)
    }
    const statuses = query.getAll('statusIn')
    const selected = [...jobs.values()].filter((job) =>
      job.appId === request.params.appId &&
      within(job.created, bound('createdStartDate'), bound('createdEndDate')) &&
      within(job.completed, bound('completedStartDate'), bound('completedEndDate')) &&
      (statuses.length === 0 || statuses.includes(job.status)))
    const sortBy = query.get('sortBy') ?? 'id'
    const direction = query.get('orderBy') === 'desc' ? -1 : 1
    selected.sort((a, b) => direction * String(a[sortBy]).localeCompare(String(b[sortBy]), 'en', { numeric: true }))
    const page = Number(query.get('page') ?? 0)
    const size = Number(query.get('size') ?? 20)
    return {
      jobs: selected.slice(page * size, (page + 1) * size),
      pages: Math.ceil(selected.length / size),
      total: selected.length
    }
  })

  app.get<{ Params: { uuid: string } }>('/v1/jobs/:uuid', async (request, reply) => {
    const job = jobs.get(request.params.uuid)
    return job === undefined ? await reply.code(404).send({ message: 'Job not found' }) : job
  })

  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('fake super.AI did not bind a TCP port')

  return {
    baseUrl: `http://127.0.0.1:${address.port}/v1`,
    apiKey,
    lists,
    get requests () { return requests },
    addJob (fields = {}) {
      const status = fields.status ?? 'COMPLETED'
      const job = {
        ...documentedJob(),
        id: String(nextId++),
        uuid: randomUUID(),
        created: apiDate(Date.now() - 60_000),
        ...(NOT_ENDED.has(status) ? {} : { completed: apiDate(Date.now()) }),
        ...fields,
        status
      } as FakeJob
      if (NOT_ENDED.has(status) && fields.completed === undefined) delete job.completed
      jobs.set(job.uuid, job)
      return job
    },
    update (uuid, fields) {
      const job = jobs.get(uuid)
      if (job === undefined) throw new Error(`no job ${uuid}`)
      Object.assign(job, fields)
      return job
    },
    fail (next) { failure = next },
    async close () { await app.close() }
  }
}
