import type { Static, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import {
  SuperaiBatchSchema, SuperaiJobListSchema, SuperaiJobSchema, SuperaiSubmitJobsResultSchema, type SuperaiBatch, type SuperaiJob,
  type SuperaiJobList, type SuperaiSubmitJobsResult
} from './api-schema.js'
import { validateCallbackUrl } from './callback-url.js'
import { codes } from '../errors.js'
import { apiKeyOption, baseUrlOption, describe, integerOption, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'
import { readResponseBody } from './response-body.js'
import { isNotProcessed, isRetryableStatus, parseRetryAfter, retrying } from './retry.js'

export {
  SuperaiBatchSchema, SuperaiJobListSchema, SuperaiJobSchema, SuperaiSubmitJobsResultSchema, type SuperaiBatch, type SuperaiJob,
  type SuperaiJobList, type SuperaiSubmitJobsResult
}

/** Page size of `jobs()` unless the query sets one: the SDK's. */
const DEFAULT_JOBS_PAGE_SIZE = 500

/**
 * The query of `GET /apps/{app_id}/jobs`, named as the API names it. Dates are a `Date` or a string
 * `Date` can read; they are sent in UTC as `YYYY-MM-DDTHH:MM:SSZ`.
 */
export interface ListJobsQuery {
  /** Page number, from 0. */
  readonly page?: number
  /** Jobs per page. */
  readonly size?: number
  /** Job field to sort by (the API's default: `id`). */
  readonly sortBy?: string
  readonly orderBy?: 'asc' | 'desc'
  readonly createdStartDate?: Date | string
  readonly createdEndDate?: Date | string
  readonly completedStartDate?: Date | string
  readonly completedEndDate?: Date | string
  /** Only jobs in these statuses (API spelling, e.g. `POST_PROCESSED`); sent as one `statusIn` each. */
  readonly statusIn?: readonly string[]
}

/** super.AI's historical API base; later SDK releases use regional hosts, so it is always configurable. */
export const DEFAULT_SUPERAI_BASE_URL = 'https://api.super.ai/v1'

export interface SuperaiClientOptions {
  /** Sent as the `API-KEY` header; never logged nor put in error messages. */
  readonly apiKey: string
  /** Default `https://api.super.ai/v1` (e.g. `https://api.prod-eu.super.ai/v1`). */
  readonly baseUrl?: string
  /** Milliseconds one attempt may take, body included. Default 30000. */
  readonly timeout?: number
  /** Further attempts after a 429 or 5xx answer. Default 2. */
  readonly retries?: number
  /** Base of the exponential backoff when the API sends no `Retry-After`, in ms. Default 500. */
  readonly retryDelay?: number
  /** Longest wait before a retry, in ms; a `Retry-After` asking for more ends the retries. Default 30000. */
  readonly maxRetryDelay?: number
  /** A fetch implementation (proxies, instrumentation); default the global one. */
  readonly fetch?: typeof globalThis.fetch
}

export interface SuperaiRequestOptions {
  /** Aborts the call, including a wait between retries. */
  readonly signal?: AbortSignal
  /** Overrides the client's per-attempt timeout for this call. */
  readonly timeout?: number
}

/** One job's input: its shape depends on the app (e.g. `{ documentUrl }`). */
export type SuperaiJobInput = Readonly<Record<string, unknown>>

interface SubmitJobsCommon {
  /** Where super.AI POSTs the callbacks; checked with `validateCallbackUrl` before anything is sent. */
  readonly callbackUrl?: string | URL
  /** Attached to every job of the submission. */
  readonly metadata?: Readonly<Record<string, unknown>>
}
/** A submission carries its inputs, or the URL of a JSON file listing them, or both. */
export type SubmitJobsRequest = SubmitJobsCommon & (
  | { readonly inputs: readonly SuperaiJobInput[], readonly inputsFileUrl?: string }
  | { readonly inputs?: readonly SuperaiJobInput[], readonly inputsFileUrl: string }
)

export interface SuperaiClient {
  readonly baseUrl: string
  /** `POST {baseUrl}/apps/{appId}/jobs`. Retried on 429 and 503 only: another 5xx may have created the jobs. */
  submitJobs: (appId: string, request: SubmitJobsRequest, options?: SuperaiRequestOptions) => Promise<SuperaiSubmitJobsResult>
  /** `GET {baseUrl}/jobs/{uuid}`; a callback's `uuid` works as the job id. */
  getJob: (uuid: string, options?: SuperaiRequestOptions) => Promise<SuperaiJob>
  /** `GET {baseUrl}/jobs/{uuid}/response`: the job's results, checked against `schema` when given. */
  getJobResponse: GetJobResponse
  /** `POST {baseUrl}/jobs/{uuid}/cancel`; undefined when the API answers without a body. */
  cancelJob: (uuid: string, options?: SuperaiRequestOptions) => Promise<SuperaiJob | undefined>
  /** `GET {baseUrl}/apps/{appId}/{batchId}`: a job batch (a v2 callback's `entityId` is its id). */
  getBatch: (appId: string, batchId: string, options?: SuperaiRequestOptions) => Promise<SuperaiBatch>
  /** `GET {baseUrl}/apps/{appId}/jobs`: one page of a project's jobs (without outputs) and the number of pages. */
  listJobs: (appId: string, query?: ListJobsQuery, options?: SuperaiRequestOptions) => Promise<SuperaiJobList>
  /**
   * Every job of the query, page after page from `query.page` (default 0, `size` default 500), one page
   * in memory at a time.
   */
  jobs: (appId: string, query?: ListJobsQuery, options?: SuperaiRequestOptions) => AsyncIterableIterator<SuperaiJob>
}

export interface GetJobResponse {
  (uuid: string, options?: SuperaiRequestOptions): Promise<unknown>
  <S extends TSchema>(uuid: string, options: SuperaiRequestOptions & { readonly schema: S }): Promise<Static<S>>
}

/** Details attached to every error the client throws, so callers branch on values, not on messages. */
export interface SuperaiApiErrorDetails {
  readonly method: string
  readonly url: string
  /** The HTTP status the API answered; 0 when it never answered (timeout, network). */
  readonly status: number
  /** The answer's body: parsed JSON, else text; undefined when there was none. */
  readonly body: unknown
  /** Attempts made, retries included. */
  readonly attempts: number
  /** The last `Retry-After` in ms, when the API sent one. */
  readonly retryAfter?: number
}

type ClientErrorCode = 'FST_SUPERAI_API_ERROR' | 'FST_SUPERAI_API_TIMEOUT' | 'FST_SUPERAI_API_UNREACHABLE' | 'FST_SUPERAI_API_INVALID_RESPONSE'
export type SuperaiApiError = InstanceType<typeof codes[ClientErrorCode]> & SuperaiApiErrorDetails

const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set<ClientErrorCode>([
  'FST_SUPERAI_API_ERROR', 'FST_SUPERAI_API_TIMEOUT', 'FST_SUPERAI_API_UNREACHABLE', 'FST_SUPERAI_API_INVALID_RESPONSE'
])

export function isSuperaiApiError (error: unknown): error is SuperaiApiError {
  return error instanceof Error && CLIENT_ERROR_CODES.has((error as { code?: unknown }).code as string) &&
    typeof (error as { status?: unknown }).status === 'number'
}

interface ResolvedClientOptions {
  readonly apiKey: string
  readonly baseUrl: string
  readonly timeout: number
  readonly retries: number
  readonly retryDelay: number
  readonly maxRetryDelay: number
  readonly fetch: typeof globalThis.fetch
}

interface CallSpec {
  readonly method: 'GET' | 'POST'
  /** The path after the base URL, with its query string if any. */
  readonly path: string
  readonly body?: unknown
  /** Which error statuses may be retried for this call. */
  readonly retryOn: (status: number) => boolean
}

interface ApiAnswer {
  readonly status: number
  readonly body: unknown
  readonly attempts: number
  readonly retryAfter?: number
}

export function createSuperaiClient (options: SuperaiClientOptions): SuperaiClient {
  const resolved = resolveClientOptions(options)

  const call = async (spec: CallSpec, requestOptions: SuperaiRequestOptions = {}): Promise<ApiAnswer> =>
    await request(resolved, spec, requestOptions)

  const getJobResponse = (async (uuid: string, requestOptions: SuperaiRequestOptions & { readonly schema?: TSchema } = {}) => {
    const spec: CallSpec = { method: 'GET', path: `/jobs/${segment('uuid', uuid)}/response`, retryOn: isRetryableStatus }
    const answer = await call(spec, requestOptions)
    return requestOptions.schema === undefined ? answer.body : checked(resolved, spec, answer, requestOptions.schema)
  }) as GetJobResponse

  /** A GET whose answer must be a body matching `schema`; an empty one is as unexpected as a wrong one. */
  const getChecked = async <S extends TSchema>(path: string, schema: S, requestOptions?: SuperaiRequestOptions): Promise<Static<S>> => {
    const spec: CallSpec = { method: 'GET', path, retryOn: isRetryableStatus }
    const answer = await call(spec, requestOptions)
    const body = checked(resolved, spec, answer, schema)
    if (body === undefined) throw apiError(resolved, spec, 'FST_SUPERAI_API_INVALID_RESPONSE', answer, 'an empty body')
    return body
  }

  const listJobs = async (appId: string, query: ListJobsQuery = {}, requestOptions?: SuperaiRequestOptions): Promise<SuperaiJobList> =>
    await getChecked(`/apps/${segment('appId', appId)}/jobs${queryString(query)}`, SuperaiJobListSchema, requestOptions) as SuperaiJobList

  return {
    baseUrl: resolved.baseUrl,
    listJobs,

    async * jobs (appId, query = {}, requestOptions) {
      const size = query.size ?? DEFAULT_JOBS_PAGE_SIZE
      for (let page = query.page ?? 0; ; page++) {
        const list = await listJobs(appId, { ...query, page, size }, requestOptions)
        yield * list.jobs
        // an empty page ends it too, so that a `pages` that keeps growing cannot hold the loop
        if (page + 1 >= list.pages || list.jobs.length === 0) return
      }
    },

    async submitJobs (appId, submission, requestOptions) {
      const spec: CallSpec = {
        method: 'POST',
        path: `/apps/${segment('appId', appId)}/jobs`,
        body: submissionBody(submission),
        retryOn: isNotProcessed
      }
      return checked(resolved, spec, await call(spec, requestOptions), SuperaiSubmitJobsResultSchema) ?? {}
    },

    async getJob (uuid, requestOptions) {
      return await getChecked(`/jobs/${segment('uuid', uuid)}`, SuperaiJobSchema, requestOptions)
    },

    getJobResponse,

    async cancelJob (uuid, requestOptions) {
      // Cancelling twice is harmless, so every retryable status is retried.
      const spec: CallSpec = { method: 'POST', path: `/jobs/${segment('uuid', uuid)}/cancel`, retryOn: isRetryableStatus }
      return checked(resolved, spec, await call(spec, requestOptions), SuperaiJobSchema)
    },

    async getBatch (appId, batchId, requestOptions) {
      return await getChecked(`/apps/${segment('appId', appId)}/${segment('batchId', batchId)}`, SuperaiBatchSchema, requestOptions)
    }
  }
}

const CLIENT_OPTIONS = optionNames<SuperaiClientOptions>({
  apiKey: true, baseUrl: true, timeout: true, retries: true, retryDelay: true, maxRetryDelay: true, fetch: true
})

function resolveClientOptions (options: SuperaiClientOptions): ResolvedClientOptions {
  plainObject('options', options, 'the client options { apiKey, baseUrl?, timeout?, retries?, retryDelay?, maxRetryDelay?, fetch? }')
  rejectUnknown(options, CLIENT_OPTIONS)
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw invalid('fetch', `expected a fetch function, got ${describe(options.fetch)}`)
  return {
    apiKey: apiKeyOption('apiKey', options.apiKey),
    baseUrl: baseUrlOption('baseUrl', options.baseUrl, DEFAULT_SUPERAI_BASE_URL).replace(/\/+$/, ''),
    timeout: integerOption('timeout', options.timeout, 30_000, 1),
    retries: integerOption('retries', options.retries, 2, 0),
    retryDelay: integerOption('retryDelay', options.retryDelay, 500, 0),
    maxRetryDelay: integerOption('maxRetryDelay', options.maxRetryDelay, 30_000, 0),
    fetch: options.fetch ?? globalThis.fetch
  }
}

/** A path segment from caller input: never empty, never able to change the path (`../`, `?`). */
function segment (name: string, value: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(name, 'must be a non-empty string')
  return encodeURIComponent(value)
}

const SDK_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

/** A date as the API's query takes it, UTC to the second (`YYYY-MM-DDTHH:MM:SSZ`), as the SDK formats it. */
function formatApiDate (name: string, value: Date | string): string {
  if (typeof value === 'string' && SDK_DATE.test(value)) return value
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : new Date(Number.NaN)
  if (Number.isNaN(date.getTime())) throw invalid(name, 'expected a Date or a date string')
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

const QUERY_DATES = ['createdStartDate', 'createdEndDate', 'completedStartDate', 'completedEndDate'] as const

/** `?page=0&size=500&...&statusIn=A&statusIn=B`, the names the API documents; empty when nothing is set. */
function queryString (query: ListJobsQuery): string {
  if (typeof query !== 'object' || query === null) throw invalid('query', 'expected an object')
  const params = new URLSearchParams()
  if (query.page !== undefined) params.set('page', String(integerOption('page', query.page, 0, 0)))
  if (query.size !== undefined) params.set('size', String(integerOption('size', query.size, 1, 1)))
  if (query.sortBy !== undefined) params.set('sortBy', query.sortBy)
  if (query.orderBy !== undefined) {
    if (query.orderBy !== 'asc' && query.orderBy !== 'desc') throw invalid('orderBy', 'expected "asc" or "desc"')
    params.set('orderBy', query.orderBy)
  }
  for (const name of QUERY_DATES) {
    const value = query[name]
    if (value !== undefined) params.set(name, formatApiDate(name, value))
  }
  for (const status of query.statusIn ?? []) params.append('statusIn', status)
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

function submissionBody (submission: SubmitJobsRequest): Record<string, unknown> {
  const { inputs, inputsFileUrl, callbackUrl, metadata } = submission
  if (inputs !== undefined && (!Array.isArray(inputs) || inputs.length === 0)) {
    throw invalid('inputs', 'must be a non-empty array of input objects')
  }
  if (inputs === undefined && (typeof inputsFileUrl !== 'string' || inputsFileUrl === '')) {
    throw invalid('inputs', 'submitJobs needs inputs or inputsFileUrl')
  }
  return {
    ...(inputs === undefined ? {} : { inputs }),
    ...(inputsFileUrl === undefined ? {} : { inputsFileUrl }),
    ...(callbackUrl === undefined ? {} : { callbackUrl: validateCallbackUrl(callbackUrl) }),
    ...(metadata === undefined ? {} : { metadata })
  }
}

/** The answer's body checked against `schema`; undefined for an empty body (204). */
function checked<S extends TSchema> (options: ResolvedClientOptions, spec: CallSpec, answer: ApiAnswer, schema: S): Static<S> | undefined {
  if (answer.body === undefined) return undefined
  if (Value.Check(schema, answer.body)) return answer.body
  const first = Value.Errors(schema, answer.body).First()
  const reason = first === undefined ? 'schema mismatch' : `${first.path === '' ? '(root)' : first.path} ${first.message}`
  throw apiError(options, spec, 'FST_SUPERAI_API_INVALID_RESPONSE', answer, reason)
}

/** Sends one call, retrying the statuses `spec.retryOn` allows; throws a coded error for anything but 2xx. */
async function request (options: ResolvedClientOptions, spec: CallSpec, requestOptions: SuperaiRequestOptions): Promise<ApiAnswer> {
  const url = options.baseUrl + spec.path
  const timeout = requestOptions.timeout ?? options.timeout
  const ok = (status: number): boolean => status >= 200 && status < 300
  const { result, interrupted } = await retrying(async (attempt) => {
    const timeoutSignal = AbortSignal.timeout(timeout)
    const signal = requestOptions.signal === undefined ? timeoutSignal : AbortSignal.any([timeoutSignal, requestOptions.signal])
    try {
      const response = await options.fetch(url, {
        method: spec.method,
        headers: {
          'API-KEY': options.apiKey,
          accept: 'application/json',
          ...(spec.body === undefined ? {} : { 'content-type': 'application/json' })
        },
        ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
        signal,
        redirect: 'error'
      })
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
      const answer: ApiAnswer = { status: response.status, body: await readResponseBody(response), attempts: attempt, ...(retryAfter === undefined ? {} : { retryAfter }) }
      return { result: answer, retryable: !ok(answer.status) && spec.retryOn(answer.status), retryAfter }
    } catch (error) {
      if (requestOptions.signal?.aborted === true) throw requestOptions.signal.reason
      const failure = { status: 0, body: undefined, attempts: attempt }
      if (timeoutSignal.aborted) throw apiError(options, spec, 'FST_SUPERAI_API_TIMEOUT', failure, timeout, error)
      throw apiError(options, spec, 'FST_SUPERAI_API_UNREACHABLE', failure, describeFailure(error), error)
    }
  }, { retries: options.retries, baseDelay: options.retryDelay, maxDelay: options.maxRetryDelay, longRetryAfter: 'give-up', signal: requestOptions.signal })
  if (ok(result.status)) return result
  if (interrupted) throw requestOptions.signal?.reason
  throw apiError(options, spec, 'FST_SUPERAI_API_ERROR', result, result.status)
}

function describeFailure (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
  return `${error.message}${cause}`
}

function apiError (
  options: ResolvedClientOptions, spec: CallSpec, code: ClientErrorCode,
  answer: Omit<SuperaiApiErrorDetails, 'method' | 'url'>, detail: string | number, cause?: unknown
): SuperaiApiError {
  const url = options.baseUrl + spec.path
  const where = `${spec.method} ${url}`
  const error = code === 'FST_SUPERAI_API_ERROR' || code === 'FST_SUPERAI_API_TIMEOUT'
    ? new codes[code](where, Number(detail))
    : new codes[code](where, String(detail))
  if (cause !== undefined) error.cause = cause
  return Object.assign(error, { method: spec.method, url, ...answer })
}
