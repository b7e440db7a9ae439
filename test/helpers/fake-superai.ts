import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { DOCUMENTED_JOB } from '../fixtures/superai-job.js'
import { apiDate, createSandbox, type Sandbox, type SandboxReply, type SandboxRequest } from '../../src/sandbox/index.js'

export { apiDate }

/** The API key the fake accepts; any other `API-KEY` is a 401. Tests check that it is never logged. */
export const API_KEY = 'sk-test-api-key-do-not-log'

/** A job the fake holds: a copy of the documented job object with its own uuid, id, app, status and dates. */
export type FakeJob = Record<string, unknown> & { uuid: string, id: string, appId: string, status: string, created: string, completed?: string }

/** One list request the sandbox answered. */
export interface ListRequest {
  readonly appId: string
  readonly query: URLSearchParams
  readonly at: number
}

/** Answers a request before the sandbox serves it, when it returns a reply (a 500, a slow answer). */
export type Override = (request: SandboxRequest) => SandboxReply | undefined

export interface FakeSuperai {
  /** `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string
  /** {@link API_KEY}. */
  readonly apiKey: string
  /** The sandbox itself, for what this helper does not wrap. */
  readonly sandbox: Sandbox
  /** Every request, answered or failed, in order. */
  readonly requests: readonly SandboxRequest[]
  /** Every list request the sandbox answered itself (not overridden, not failed, the right key), in order. */
  readonly lists: readonly ListRequest[]
  /**
   * Adds a job: the documented job object with a new uuid and id, `status` COMPLETED, `completed` now when
   * its status has ended, then `fields` (`undefined` drops one).
   */
  addJob (fields?: Readonly<Record<string, unknown>>): FakeJob
  /** Adds the documented job object with `fields` replacing its own (another uuid, status, app...; `undefined` drops one). */
  putJob (fields: Readonly<Record<string, unknown>>): FakeJob
  /** Adds a batch, answered as given by `GET apps/{appId}/batches/{batchId}` (the SDK's `fetch_batch_job`). */
  addBatch (appId: string, batchId: string, fields: Readonly<Record<string, unknown>>): void
  /** Changes a job (a later state keeps its `completed` date, as the API does). */
  update (uuid: string, fields: Record<string, unknown>): void
  /** Answers every request with `failure` (body `{ message }` unless given) until `fail(undefined)`. */
  fail (failure: SandboxReply | undefined): void
}

const NOT_ENDED = new Set(['PENDING', 'SCHEDULED', 'IN_PROGRESS', 'NEEDS_WORK'])
const LIST = /^\/v1\/apps\/([^/?]+)\/jobs(\?|$)/

/**
 * The sandbox (`fastify-superai-callbacks/sandbox`) as the tests' super.AI API: the documented routes and
 * shapes, `API-KEY` checked, jobs added in any state by the test (they walk nowhere and call back nobody).
 * `override`, then `fail()`, answer first. Closed at teardown.
 */
export async function startFakeSuperai (t: Test, override?: Override): Promise<FakeSuperai> {
  const sandbox = await createSandbox({ apiKey: API_KEY, step: 0, duplicates: 0 })
  t.teardown(() => sandbox.close())
  let failure: SandboxReply | undefined
  const intercepted = new Set<number>()
  let nextId = 1_000_000
  sandbox.intercept((request, index) => {
    const forced = override?.(request) ?? (failure === undefined ? undefined : { body: { message: 'fake failure' }, ...failure })
    if (forced !== undefined) intercepted.add(index)
    return forced
  })

  return {
    baseUrl: sandbox.baseUrl,
    apiKey: API_KEY,
    sandbox,
    requests: sandbox.requests,
    get lists () {
      return sandbox.requests.flatMap((request, index) => {
        const match = LIST.exec(request.url)
        if (match === null || intercepted.has(index) || request.method !== 'GET' || request.headers['api-key'] !== API_KEY) return []
        return [{ appId: decodeURIComponent(match[1] ?? ''), query: new URL(request.url, 'http://sandbox').searchParams, at: request.at }]
      })
    },
    addJob (fields = {}) {
      const status = Object.hasOwn(fields, 'status') ? fields.status : 'COMPLETED'
      const now = Date.now()
      return sandbox.addJob({
        ...DOCUMENTED_JOB,
        id: String(nextId++),
        uuid: randomUUID(),
        created: apiDate(now - 60_000),
        completed: typeof status === 'string' && NOT_ENDED.has(status) ? undefined : apiDate(now),
        ...fields,
        status
      }) as FakeJob
    },
    putJob (fields) { return sandbox.addJob({ ...DOCUMENTED_JOB, ...fields }) as FakeJob },
    addBatch (appId, batchId, fields) { sandbox.addBatch(appId, batchId, fields) },
    update (uuid, fields) { sandbox.update(uuid, fields) },
    fail (next) { failure = next }
  }
}
