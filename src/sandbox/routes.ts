import { fetchInputsFile } from './inputs-file.js'
import type { JobExports } from './job-export.js'
import { apiDate, type JobBook } from './jobs.js'
import { listJobs } from './list.js'
import { jobFilter, queryBoolean, queryWhole } from './query.js'
import { RequestError } from './request-error.js'
import type { SandboxRequest } from './http.js'

/**
 * The routes of super.AI's API as its Python SDK calls them (`superai/apis/jobs.py`, `JobsApiMixin`), under
 * `/v1`: one row per SDK method. What each answers is the 200's body; a refusal throws a RequestError.
 */

export interface RouteContext {
  readonly book: JobBook
  readonly exports: JobExports
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly request: SandboxRequest
  readonly raw: string
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'
  /** Path segments after `/v1`; `:name` matches one non-empty segment. */
  readonly pattern: readonly string[]
  /** The SDK method that sends it. */
  readonly sdk: string
  readonly answer: (context: RouteContext) => unknown
}

const route = (method: Route['method'], path: string, sdk: string, answer: Route['answer']): Route =>
  ({ method, pattern: path.split('/'), sdk, answer })

/** super.AI's SDK: `download-url`'s `seconds_ttl`, "Default 60". */
const DEFAULT_TTL = 60

export const ROUTES: readonly Route[] = [
  route('POST', 'apps/:app/jobs', 'create_jobs', async ({ book, params, request, raw }) => {
    const body = jsonBody(request, raw, '{ inputs, callbackUrl?, metadata? }')
    const url = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).inputsFileUrl : undefined
    return book.submit(params.app ?? '', body, typeof url === 'string' ? await fetchInputsFile(url) : [])
  }),
  route('GET', 'apps/:app/jobs', 'list_jobs', ({ book, params, query }) => listJobs(book.all(), params.app ?? '', query)),
  route('PUT', 'apps/:app/jobs/tags', 'add_tags', ({ book, params, query, request, raw }) =>
    book.addTags(params.app ?? '', query.get('idSearch'), jsonBody(request, raw, '{ tags }'))),
  route('DELETE', 'apps/:app/jobs/tags', 'delete_tags', ({ book, params, query, request, raw }) => {
    const app = params.app ?? ''
    const selects = jobFilter(app, query, ['batchId', 'idSearch'])
    const start = createdSince(query)
    return book.removeTags(app, (job) => selects(job) && (start === undefined || (typeof job.created === 'string' && Date.parse(job.created) >= start)),
      query.get('idSearch'), jsonBody(request, raw, '{ tags }'))
  }),
  route('GET', 'apps/:app/batches', 'fetch_batches_job', ({ book, params }) => book.batches(params.app ?? '')),
  route('GET', 'apps/:app/batches/:batch', 'fetch_batch_job', ({ book, params }) => {
    const batch = book.batch(params.app ?? '', params.batch ?? '')
    if (batch === undefined) throw new RequestError(404, `batch ${params.batch ?? ''} of app ${params.app ?? ''} not found`)
    return batch
  }),
  route('POST', 'apps/:app/job_responses', 'download_jobs', ({ book, exports, params, query }) => {
    const app = params.app ?? ''
    const selects = jobFilter(app, query, ['dates', 'statusIn', 'batchId', 'idSearch'])
    // checked, though the sandbox sends no e-mail and keeps no history
    queryBoolean(query, 'sendEmail')
    queryBoolean(query, 'withHistory')
    return exports.start(app, book.exportable(app, selects), apiDate())
  }),
  route('GET', 'operations/:app/:operation', 'get_jobs_operation', ({ exports, params }) => exports.get(params.app ?? '', params.operation ?? '')),
  route('POST', 'operations/:app/:operation/download-url', 'generates_downloaded_jobs_url', ({ exports, params, query, origin }) =>
    exports.downloadUrl(params.app ?? '', params.operation ?? '', queryWhole(query, 'secondsTtl', DEFAULT_TTL, 1, 604_800), origin)),
  route('GET', 'jobs/:job', 'fetch_job', ({ book, params }) => {
    const job = book.get(params.job ?? '')
    if (job === undefined) throw new RequestError(404, `job ${params.job ?? ''} not found`)
    return job
  }),
  route('GET', 'jobs/:job/response', 'get_job_response', ({ book, params }) => book.response(params.job ?? '')),
  route('POST', 'jobs/:job/cancel', 'cancel_job', ({ book, params }) => book.cancel(params.job ?? '')),
  route('PATCH', 'jobs/:job/review', 'review_job', ({ book, params, request, raw }) => book.review(params.job ?? '', jsonBody(request, raw, '{ response?, correct? }')))
]

export function matches (pattern: readonly string[], path: readonly string[]): boolean {
  return pattern.length === path.length && pattern.every((part, index) => part.startsWith(':') ? path[index] !== '' : part === path[index])
}

function createdSince (query: URLSearchParams): number | undefined {
  const value = query.get('createdStartDate')
  if (value === null) return undefined
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(value) || Number.isNaN(Date.parse(value))) throw new RequestError(400, 'createdStartDate must be YYYY-MM-DDTHH:MM:SSZ (UTC)')
  return Date.parse(value)
}

/** A request's JSON body: a clear 400 or 415 for anything else. */
function jsonBody (request: SandboxRequest, raw: string, expected: string): unknown {
  const type = request.headers['content-type']
  if (type !== undefined && !/^application\/(.+\+)?json\s*(;|$)/i.test(type)) throw new RequestError(415, 'send the body as application/json')
  if (raw === '') throw new RequestError(400, `the body is empty: expected a JSON object ${expected}`)
  try {
    return JSON.parse(raw) as unknown
  } catch {
    throw new RequestError(400, 'the body is not valid JSON')
  }
}
