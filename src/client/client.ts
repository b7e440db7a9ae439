import { Type, type Static, type TSchema } from '@sinclair/typebox'
import {
  SuperaiBatchListSchema, SuperaiBatchSchema, SuperaiDownloadUrlSchema, SuperaiExportedJobSchema, SuperaiJobListSchema, SuperaiJobSchema,
  SuperaiJobsOperationSchema, SuperaiJobsOperationStartSchema, SuperaiSubmitJobsResultSchema,
  type SuperaiBatch, type SuperaiDownloadUrl, type SuperaiExportedJob, type SuperaiJob, type SuperaiJobList, type SuperaiJobsOperation,
  type SuperaiJobsOperationStart, type SuperaiSubmitJobsResult
} from './api-schema.js'
import {
  downloadJobsQuery, listJobsQuery, removeTagsQuery, reviewBody, segment, submissionBody, tagsArgument,
  type DownloadJobsQuery, type ListJobsQuery, type RemoveTagsFilter, type ReviewJobRequest, type SubmitJobsRequest, type SuperaiTags
} from './arguments.js'
import { codes } from '../errors.js'
import { awaitOperation, exportSchedule, readExport, type ExportJobsOptions } from './export.js'
import { resolveClientOptions, type ResolvedClientOptions, type SuperaiClientOptions, type SuperaiRequestOptions } from './options.js'
import type { ApiCallHook } from '../telemetry/telemetry.js'
import { callError, checked, checkedBody, request, type CallSpec } from './request.js'
import { isNotProcessed, isRetryableStatus } from './retry.js'
import { integerOption, invalid } from '../validate.js'

export {
  SuperaiBatchSchema, SuperaiJobListSchema, SuperaiJobSchema, SuperaiSubmitJobsResultSchema, type SuperaiBatch, type SuperaiDownloadUrl,
  type SuperaiExportedJob, type SuperaiJob, type SuperaiJobList, type SuperaiJobsOperation, type SuperaiJobsOperationStart, type SuperaiSubmitJobsResult
}
export type { DownloadJobsQuery, ExportJobsOptions, ListJobsQuery, RemoveTagsFilter, ReviewJobRequest, SubmitJobsRequest, SuperaiClientOptions, SuperaiRequestOptions, SuperaiTags }
export type { SuperaiJobInput } from './arguments.js'
export { DEFAULT_SUPERAI_BASE_URL } from './options.js'
export { isSuperaiApiError, type SuperaiApiError, type SuperaiApiErrorDetails } from './api-error.js'

/** Page size of `jobs()` unless the query sets one: the SDK's. */
const DEFAULT_JOBS_PAGE_SIZE = 500

/** super.AI's SDK (`cancel_job`): "Only for jobs in SCHEDULED, IN_PROGRESS or SUSPENDED state". */
const CANCELABLE: ReadonlySet<string> = new Set(['SCHEDULED', 'IN_PROGRESS', 'SUSPENDED'])

/** What the tag calls answer: the job, the jobs, or nothing (204). */
const TaggedSchema = Type.Union([Type.Array(SuperaiJobSchema), SuperaiJobSchema])
/** The export's JSON file: the exported jobs. */
const ExportSchema = Type.Array(SuperaiExportedJobSchema)

/**
 * super.AI's API, endpoint by endpoint as its Python SDK (`superai/apis/jobs.py`, `JobsApiMixin`) calls it:
 * the same method, path, query and body names. Every call takes `{ signal, timeout }`; every failure is a
 * coded error; a bad argument is refused before any request.
 */
export interface SuperaiClient {
  readonly baseUrl: string
  /** `POST {baseUrl}/apps/{appId}/jobs` (`create_jobs`). Retried on 429 and 503 only: another 5xx may have created the jobs. */
  submitJobs: (appId: string, request: SubmitJobsRequest, options?: SuperaiRequestOptions) => Promise<SuperaiSubmitJobsResult>
  /** `GET {baseUrl}/jobs/{uuid}` (`fetch_job`); a callback's `uuid` works as the job id. */
  getJob: (uuid: string, options?: SuperaiRequestOptions) => Promise<SuperaiJob>
  /** `GET {baseUrl}/jobs/{uuid}/response` (`get_job_response`): the job's output, checked against `schema` when given. */
  getJobResponse: GetJobResponse
  /**
   * `POST {baseUrl}/jobs/{uuid}/cancel` (`cancel_job`); undefined when the API answers without a body. Given
   * a job object whose `status` is known and not SCHEDULED, IN_PROGRESS or SUSPENDED, it sends nothing and
   * throws `FST_SUPERAI_JOB_NOT_CANCELABLE`; given a uuid, the API decides.
   */
  cancelJob: (job: string | SuperaiJob, options?: SuperaiRequestOptions) => Promise<SuperaiJob | undefined>
  /** `GET {baseUrl}/apps/{appId}/batches/{batchId}` (`fetch_batch_job`): a job batch (a v2 callback's `entityId` is its id). */
  getBatch: (appId: string, batchId: string, options?: SuperaiRequestOptions) => Promise<SuperaiBatch>
  /** `GET {baseUrl}/apps/{appId}/batches` (`fetch_batches_job`): the project's batches not yet processed. */
  listBatches: (appId: string, options?: SuperaiRequestOptions) => Promise<SuperaiBatch[]>
  /** `GET {baseUrl}/apps/{appId}/jobs` (`list_jobs`): one page of a project's jobs (without outputs) and the number of pages. */
  listJobs: (appId: string, query?: ListJobsQuery, options?: SuperaiRequestOptions) => Promise<SuperaiJobList>
  /**
   * Every job of the query (`get_all_jobs`), page after page from `query.page` (default 0, `size` default
   * 500), one page in memory at a time.
   */
  jobs: (appId: string, query?: ListJobsQuery, options?: SuperaiRequestOptions) => AsyncIterableIterator<SuperaiJob>
  /**
   * `PUT {baseUrl}/apps/{appId}/jobs/tags?idSearch={job}`, body `{ tags }` (`add_tags`): super.AI calls back
   * with action `TAG ADDED`. Resolves to the tagged jobs the API answered (none for a 204).
   */
  addTags: (appId: string, idSearch: string, tags: SuperaiTags, options?: SuperaiRequestOptions) => Promise<SuperaiJob[]>
  /**
   * `DELETE {baseUrl}/apps/{appId}/jobs/tags`, query `idSearch`, `batchId`, `createdStartDate`, body `{ tags }`
   * (`delete_tags`): from the jobs the filter selects (every job of the project without one); super.AI calls
   * back with action `TAG REMOVED`.
   */
  removeTags: (appId: string, tags: SuperaiTags, filter?: RemoveTagsFilter, options?: SuperaiRequestOptions) => Promise<SuperaiJob[]>
  /**
   * `PATCH {baseUrl}/jobs/{jobId}/review` (`review_job`): a new `response` (action `EDITED`; the API serves
   * it next) and/or a verdict `correct` (`ACCEPTED` or `DECLINED`). Retried on 429 and 503 only.
   */
  reviewJob: (jobId: string | number, review: ReviewJobRequest, options?: SuperaiRequestOptions) => Promise<SuperaiJob | undefined>
  /** `POST {baseUrl}/apps/{appId}/job_responses` (`download_jobs`): starts an export; poll its `operationId`. */
  downloadJobs: (appId: string, query?: DownloadJobsQuery, options?: SuperaiRequestOptions) => Promise<SuperaiJobsOperationStart>
  /** `GET {baseUrl}/operations/{appId}/{operationId}` (`get_jobs_operation`): `status` is `COMPLETED` once the export is ready. */
  getJobsOperation: (appId: string, operationId: string | number, options?: SuperaiRequestOptions) => Promise<SuperaiJobsOperation>
  /**
   * `POST {baseUrl}/operations/{appId}/{operationId}/download-url?secondsTtl=N` (`generates_downloaded_jobs_url`):
   * where the export's zip is, valid `secondsTtl` seconds (the API's default: 60).
   */
  createDownloadUrl: (appId: string, operationId: string | number, options?: SuperaiRequestOptions & { readonly secondsTtl?: number }) => Promise<SuperaiDownloadUrl>
  /**
   * The whole export (`download_jobs_full_flow`): starts it (`sendEmail: false` unless the query says),
   * polls the operation every `pollInterval` ms for up to `maxWait` ms, fetches the download URL without
   * the API key, and resolves to the jobs, with their responses, of the zip's JSON file.
   */
  exportJobs: (appId: string, query?: DownloadJobsQuery, options?: ExportJobsOptions) => Promise<SuperaiExportedJob[]>
}

export interface GetJobResponse {
  (uuid: string, options?: SuperaiRequestOptions): Promise<unknown>
  <S extends TSchema>(uuid: string, options: SuperaiRequestOptions & { readonly schema: S }): Promise<Static<S>>
}

export function createSuperaiClient (options: SuperaiClientOptions): SuperaiClient {
  return clientOf(resolveClientOptions(options))
}

/**
 * The plugin's own clients (`app.superai.api`, `verify`, `context.output()`, reconciliation): a
 * CLIENT span around each request when the `telemetry` option gives `apiCall`.
 */
export function createTracedClient (options: SuperaiClientOptions, apiCall: ApiCallHook | undefined): SuperaiClient {
  const resolved = resolveClientOptions(options)
  return clientOf(apiCall === undefined ? resolved : { ...resolved, apiCall })
}

function clientOf (resolved: ResolvedClientOptions): SuperaiClient {
  /** A call whose answer must be a body matching `schema`. */
  const call = async <S extends TSchema>(spec: CallSpec, schema: S, requestOptions?: SuperaiRequestOptions): Promise<Static<S>> =>
    checkedBody(resolved, spec, await request(resolved, spec, requestOptions), schema)
  /** A call whose answer may also be empty (a 204). */
  const callMaybe = async <S extends TSchema>(spec: CallSpec, schema: S, requestOptions?: SuperaiRequestOptions): Promise<Static<S> | undefined> =>
    checked(resolved, spec, await request(resolved, spec, requestOptions), schema)
  const get = (path: string, template: string): CallSpec => ({ method: 'GET', path, template, retryOn: isRetryableStatus })

  const getJobResponse = (async (uuid: string, requestOptions: SuperaiRequestOptions & { readonly schema?: TSchema } = {}) => {
    const spec = get(`/jobs/${segment('uuid', uuid)}/response`, '/jobs/{uuid}/response')
    const answer = await request(resolved, spec, requestOptions)
    return requestOptions.schema === undefined ? answer.body : checked(resolved, spec, answer, requestOptions.schema)
  }) as GetJobResponse

  const listJobs = async (appId: string, query: ListJobsQuery = {}, requestOptions?: SuperaiRequestOptions): Promise<SuperaiJobList> =>
    await call(get(`/apps/${segment('appId', appId)}/jobs${listJobsQuery(query)}`, '/apps/{appId}/jobs'), SuperaiJobListSchema, requestOptions) as SuperaiJobList

  const tagged = async (spec: CallSpec, requestOptions?: SuperaiRequestOptions): Promise<SuperaiJob[]> => {
    const body = await callMaybe(spec, TaggedSchema, requestOptions)
    return body === undefined ? [] : Array.isArray(body) ? body as SuperaiJob[] : [body as SuperaiJob]
  }

  const client: SuperaiClient = {
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
      const spec: CallSpec = { method: 'POST', path: `/apps/${segment('appId', appId)}/jobs`, template: '/apps/{appId}/jobs', body: submissionBody(submission), retryOn: isNotProcessed }
      return await callMaybe(spec, SuperaiSubmitJobsResultSchema, requestOptions) ?? {}
    },

    async getJob (uuid, requestOptions) {
      return await call(get(`/jobs/${segment('uuid', uuid)}`, '/jobs/{uuid}'), SuperaiJobSchema, requestOptions)
    },

    getJobResponse,

    async cancelJob (job, requestOptions) {
      // Cancelling twice is harmless, so every retryable status is retried.
      const spec: CallSpec = { method: 'POST', path: `/jobs/${segment('job', cancelTarget(job))}/cancel`, template: '/jobs/{uuid}/cancel', retryOn: isRetryableStatus }
      return await callMaybe(spec, SuperaiJobSchema, requestOptions)
    },

    async getBatch (appId, batchId, requestOptions) {
      return await call(get(`/apps/${segment('appId', appId)}/batches/${segment('batchId', batchId)}`, '/apps/{appId}/batches/{batchId}'), SuperaiBatchSchema, requestOptions)
    },

    async listBatches (appId, requestOptions) {
      return await call(get(`/apps/${segment('appId', appId)}/batches`, '/apps/{appId}/batches'), SuperaiBatchListSchema, requestOptions)
    },

    async addTags (appId, idSearch, tags, requestOptions) {
      const path = `/apps/${segment('appId', appId)}/jobs/tags?${new URLSearchParams({ idSearch: segmentText('idSearch', idSearch) }).toString()}`
      return await tagged({ method: 'PUT', path, template: '/apps/{appId}/jobs/tags', body: { tags: tagsArgument('tags', tags) }, retryOn: isRetryableStatus }, requestOptions)
    },

    async removeTags (appId, tags, filter = {}, requestOptions) {
      const path = `/apps/${segment('appId', appId)}/jobs/tags${removeTagsQuery(filter)}`
      return await tagged({ method: 'DELETE', path, template: '/apps/{appId}/jobs/tags', body: { tags: tagsArgument('tags', tags) }, retryOn: isRetryableStatus }, requestOptions)
    },

    async reviewJob (jobId, review, requestOptions) {
      // a review calls back: sent again only when the API says it did nothing
      const spec: CallSpec = { method: 'PATCH', path: `/jobs/${segment('jobId', jobId)}/review`, template: '/jobs/{jobId}/review', body: reviewBody(review), retryOn: isNotProcessed }
      return await callMaybe(spec, SuperaiJobSchema, requestOptions)
    },

    async downloadJobs (appId, query = {}, requestOptions) {
      // each start is a new export operation (and an e-mail): sent again only when the API did nothing
      const spec: CallSpec = { method: 'POST', path: `/apps/${segment('appId', appId)}/job_responses${downloadJobsQuery(query)}`, template: '/apps/{appId}/job_responses', retryOn: isNotProcessed }
      return await call(spec, SuperaiJobsOperationStartSchema, requestOptions)
    },

    async getJobsOperation (appId, operationId, requestOptions) {
      return await call(get(`/operations/${segment('appId', appId)}/${segment('operationId', operationId)}`, '/operations/{appId}/{operationId}'), SuperaiJobsOperationSchema, requestOptions)
    },

    async createDownloadUrl (appId, operationId, requestOptions = {}) {
      const { secondsTtl, ...rest } = requestOptions
      const ttl = secondsTtl === undefined ? '' : `?secondsTtl=${integerOption('secondsTtl', secondsTtl, 60, 1)}`
      const spec: CallSpec = { method: 'POST', path: `/operations/${segment('appId', appId)}/${segment('operationId', operationId)}/download-url${ttl}`, template: '/operations/{appId}/{operationId}/download-url', retryOn: isRetryableStatus }
      const answer = await call(spec, SuperaiDownloadUrlSchema, rest)
      if (!/^https?:\/\//i.test(answer.downloadUrl) || !URL.canParse(answer.downloadUrl)) {
        throw callError(resolved, spec, 'FST_SUPERAI_API_INVALID_RESPONSE', { status: 200, body: undefined, attempts: 1 }, 'downloadUrl is not an absolute http(s) URL')
      }
      return answer
    },

    async exportJobs (appId, query = {}, exportOptions = {}) {
      const { signal, timeout, secondsTtl } = exportOptions
      const requestOptions: SuperaiRequestOptions = { ...(signal === undefined ? {} : { signal }), ...(timeout === undefined ? {} : { timeout }) }
      const schedule = exportSchedule(exportOptions)
      const { operationId } = await client.downloadJobs(appId, { sendEmail: false, ...query }, requestOptions)
      const operation = await awaitOperation(String(operationId), async () => await client.getJobsOperation(appId, operationId, requestOptions), schedule, requestOptions.signal)
      const { downloadUrl } = await client.createDownloadUrl(appId, operation.id, { ...requestOptions, ...(secondsTtl === undefined ? {} : { secondsTtl }) })
      const spec: CallSpec = { method: 'GET', path: downloadUrl, absolute: true, read: 'bytes', retryOn: isRetryableStatus }
      const answer = await request(resolved, spec, requestOptions)
      const content = readExport(answer.body instanceof Uint8Array ? answer.body : new Uint8Array())
      if (!content.ok) throw callError(resolved, spec, 'FST_SUPERAI_API_INVALID_RESPONSE', { ...answer, body: undefined }, content.reason)
      return checkedBody(resolved, spec, { ...answer, body: content.value }, ExportSchema) as SuperaiExportedJob[]
    }
  }
  return client
}

function segmentText (name: string, value: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(name, 'must be a non-empty string')
  return value
}

/** The id a cancel is sent for; a job object whose status the SDK says cannot be canceled is refused here. */
function cancelTarget (job: string | SuperaiJob): string {
  if (typeof job === 'string') return job
  if (typeof job !== 'object' || job === null) throw invalid('job', 'expected a job uuid or a job object')
  const id = typeof job.uuid === 'string' && job.uuid !== '' ? job.uuid : job.id === undefined ? undefined : String(job.id)
  if (id === undefined || id === '') throw invalid('job', 'the job object has neither uuid nor id')
  if (typeof job.status === 'string' && !CANCELABLE.has(job.status.toUpperCase().replace(/ /g, '_'))) throw new codes.FST_SUPERAI_JOB_NOT_CANCELABLE(id, job.status)
  return id
}
