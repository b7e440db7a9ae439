import type { Test } from 'tap'
import { documentedJob } from '../fixtures/superai-job.js'
import { startFakeApi, type FakeApi, type FakeReply } from './fake-api.js'

export const API_KEY = 'sk-test-api-key-do-not-log'

export interface FakeSuperai extends FakeApi {
  /** Jobs by uuid, answered as the documented job object with these fields replaced. */
  readonly jobs: Map<string, Record<string, unknown>>
  /** Batches by `${appId}/${batchId}`; any other batch is a 404. */
  readonly batches: Map<string, Record<string, unknown>>
  /** Sets the status of a known job (API spelling). */
  setStatus (uuid: string, status: string): void
}

/**
 * A fake super.AI API on 127.0.0.1 answering the documented routes: `GET /jobs/{uuid}` with a copy of the
 * documented job object, `GET /apps/{appId}/{batchId}` with a batch; 401 for another API key, 404 for
 * what it does not know. `override` may answer first (a 500, a slow answer). Closed at teardown.
 */
export async function startFakeSuperai (t: Test, override?: () => FakeReply | undefined): Promise<FakeSuperai> {
  const jobs = new Map<string, Record<string, unknown>>()
  const batches = new Map<string, Record<string, unknown>>()
  const api = await startFakeApi((request) => {
    const forced = override?.()
    if (forced !== undefined) return forced
    if (request.headers['api-key'] !== API_KEY) return { status: 401, body: { message: 'bad key' } }
    const path = new URL(request.url, 'http://x').pathname
    const job = /^\/v1\/jobs\/([^/]+)$/.exec(path)?.[1]
    if (job !== undefined) {
      const fields = jobs.get(job)
      return fields === undefined ? { status: 404, body: { message: 'not found' } } : { status: 200, body: documentedJob(fields) }
    }
    const batch = /^\/v1\/apps\/([^/]+)\/([^/]+)$/.exec(path)
    const found = batch === null ? undefined : batches.get(`${batch[1] ?? ''}/${batch[2] ?? ''}`)
    return found === undefined ? { status: 404, body: { message: 'not found' } } : { status: 200, body: found }
  })
  t.teardown(() => api.close())
  return Object.assign(api, {
    jobs,
    batches,
    setStatus (uuid: string, status: string) { jobs.set(uuid, { ...jobs.get(uuid), status }) }
  })
}

/** The warn lines (pino level 40) among `logs`. */
export const warnLines = (logs: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> =>
  logs.filter((line) => line.level === 40)
