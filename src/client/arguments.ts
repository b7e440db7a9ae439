import { validateCallbackUrl } from './callback-url.js'
import { describe, integerOption, invalid, isNonBlankString } from '../validate.js'

/**
 * A call's arguments checked, before anything is sent, and written with the names super.AI's SDK
 * (`superai/apis/jobs.py`) sends: `idSearch`, `statusIn`, `inputsFileUrl`, `pending`... A bad argument is
 * `FST_SUPERAI_INVALID_OPTION` naming it.
 */

/** A `Date`, or a string `Date` can read; sent in UTC as `YYYY-MM-DDTHH:MM:SSZ`, as the SDK formats it. */
export type ApiDate = Date | string

/** One tag, or several. The SDK sends one string; the API's tag calls take either. */
export type SuperaiTags = string | readonly string[]

export interface JobDateFilters {
  readonly createdStartDate?: ApiDate
  readonly createdEndDate?: ApiDate
  readonly completedStartDate?: ApiDate
  readonly completedEndDate?: ApiDate
}

/** The query of `GET /apps/{app_id}/jobs` (the SDK's `list_jobs`), named as the API names it. */
export interface ListJobsQuery extends JobDateFilters {
  /** Page number, from 0. */
  readonly page?: number
  /** Jobs per page. */
  readonly size?: number
  /** Job field to sort by (the API's default: `id`). */
  readonly sortBy?: string
  readonly orderBy?: 'asc' | 'desc'
  /** Only jobs in these statuses (API spelling, e.g. `POST_PROCESSED`); sent as one `statusIn` each. */
  readonly statusIn?: readonly string[]
  /** Only jobs carrying these tags; sent as one `tags` each. */
  readonly tags?: SuperaiTags
  /** Only jobs judged correct (`true`) or incorrect (`false`) by a review. */
  readonly correct?: boolean
}

/** The query of `POST /apps/{app_id}/job_responses` (the SDK's `download_jobs`): which jobs to export. */
export interface DownloadJobsQuery extends JobDateFilters {
  readonly statusIn?: readonly string[]
  /** Whether super.AI also e-mails the export (it does by default; `exportJobs` sends `false`, as the SDK's full flow). */
  readonly sendEmail?: boolean
  /** Adds each job's history to the export. */
  readonly withHistory?: boolean
  /** Only the jobs of this batch. */
  readonly batchId?: string
  /** Only the job with this id or uuid. */
  readonly idSearch?: string
}

/** Which jobs `removeTags` (the SDK's `delete_tags`) takes the tags off; none: every job of the project. */
export interface RemoveTagsFilter {
  /** The job with this id or uuid. */
  readonly idSearch?: string
  /** The jobs of this batch. */
  readonly batchId?: string
  /** The jobs created since. */
  readonly createdStartDate?: ApiDate
}

/** `PATCH /jobs/{job_id}/review` (the SDK's `review_job`): a new output, a verdict, or both; never neither. */
export type ReviewJobRequest =
  | { readonly response: Readonly<Record<string, unknown>>, readonly correct?: boolean }
  | { readonly response?: Readonly<Record<string, unknown>>, readonly correct: boolean }

/** One job's input: its shape depends on the app (e.g. `{ documentUrl }`). */
export type SuperaiJobInput = Readonly<Record<string, unknown>>

interface SubmitJobsCommon {
  /** Where super.AI POSTs the callbacks; checked with `validateCallbackUrl` before anything is sent. */
  readonly callbackUrl?: string | URL
  /** Attached to every job of the submission. */
  readonly metadata?: Readonly<Record<string, unknown>>
  /** The worker who should label the jobs (the SDK's `worker`, sent as `labeler`). */
  readonly labeler?: string
  /** Create the jobs parked, in `PENDING`, not started (the SDK's `parked`, sent as `pending`). */
  readonly pending?: boolean
  /** Tags given to every job of the submission. */
  readonly tags?: SuperaiTags
}
/** A submission carries its inputs, or the URL of a JSON file listing them, or both. */
export type SubmitJobsRequest = SubmitJobsCommon & (
  | { readonly inputs: readonly SuperaiJobInput[], readonly inputsFileUrl?: string }
  | { readonly inputs?: readonly SuperaiJobInput[], readonly inputsFileUrl: string }
)

/** A path segment from caller input: never empty, never able to change the path (`../`, `?`). */
export function segment (name: string, value: string | number): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value)
  if (typeof value !== 'string' || value.trim() === '') throw invalid(name, 'must be a non-empty string')
  return encodeURIComponent(value)
}

const SDK_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

/** A date as the API's query takes it, UTC to the second (`YYYY-MM-DDTHH:MM:SSZ`), as the SDK formats it. */
export function formatApiDate (name: string, value: ApiDate): string {
  if (typeof value === 'string' && SDK_DATE.test(value)) return value
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : new Date(Number.NaN)
  if (Number.isNaN(date.getTime())) throw invalid(name, 'expected a Date or a date string')
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Tags as given, each a non-blank string; at least one. */
export function tagsArgument (name: string, value: unknown): SuperaiTags {
  if (isNonBlankString(value)) return value
  if (Array.isArray(value) && value.length > 0 && value.every(isNonBlankString)) return value as readonly string[]
  throw invalid(name, `expected a tag or a non-empty array of tags, got ${describe(value)}`)
}

function booleanArgument (name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(name, `expected true or false, got ${describe(value)}`)
  return value
}

function stringArgument (name: string, value: unknown): string {
  if (!isNonBlankString(value)) throw invalid(name, `expected a non-empty string, got ${describe(value)}`)
  return value
}

function queryObject (value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('query', 'expected an object')
  return value as Record<string, unknown>
}

/** Builds a query in the SDK's names: booleans as Python writes them (`True`/`False`), a list as one name each. */
class Query {
  readonly #params = new URLSearchParams()
  constructor (readonly values: Record<string, unknown>) {}

  string (name: string): this {
    const value = this.values[name]
    if (value !== undefined) this.#params.set(name, stringArgument(name, value))
    return this
  }

  boolean (name: string): this {
    const value = this.values[name]
    if (value !== undefined) this.#params.set(name, booleanArgument(name, value) ? 'True' : 'False')
    return this
  }

  dates (...names: ReadonlyArray<keyof JobDateFilters>): this {
    for (const name of names) {
      const value = this.values[name]
      if (value !== undefined) this.#params.set(name, formatApiDate(name, value as ApiDate))
    }
    return this
  }

  list (name: string): this {
    const value = this.values[name]
    if (value === undefined) return this
    const items = typeof value === 'string' ? [value] : value
    if (!Array.isArray(items) || !items.every(isNonBlankString)) throw invalid(name, `expected an array of non-empty strings, got ${describe(value)}`)
    for (const item of items) this.#params.append(name, item)
    return this
  }

  set (name: string, value: string): this {
    this.#params.set(name, value)
    return this
  }

  toString (): string {
    const text = this.#params.toString()
    return text === '' ? '' : `?${text}`
  }
}

const ALL_DATES = ['createdStartDate', 'createdEndDate', 'completedStartDate', 'completedEndDate'] as const

/** `?page=0&size=500&...&statusIn=A&statusIn=B`; empty when nothing is set. */
export function listJobsQuery (raw: ListJobsQuery): string {
  const query = new Query(queryObject(raw))
  if (raw.page !== undefined) query.set('page', String(integerOption('page', raw.page, 0, 0)))
  if (raw.size !== undefined) query.set('size', String(integerOption('size', raw.size, 1, 1)))
  query.string('sortBy')
  if (raw.orderBy !== undefined) {
    if (raw.orderBy !== 'asc' && raw.orderBy !== 'desc') throw invalid('orderBy', 'expected "asc" or "desc"')
    query.set('orderBy', raw.orderBy)
  }
  return query.dates(...ALL_DATES).list('statusIn').list('tags').boolean('correct').toString()
}

export function downloadJobsQuery (raw: DownloadJobsQuery): string {
  return new Query(queryObject(raw)).dates(...ALL_DATES).list('statusIn').boolean('sendEmail').boolean('withHistory')
    .string('batchId').string('idSearch').toString()
}

export function removeTagsQuery (raw: RemoveTagsFilter): string {
  return new Query(queryObject(raw)).string('batchId').string('idSearch').dates('createdStartDate').toString()
}

export function submissionBody (submission: SubmitJobsRequest): Record<string, unknown> {
  if (typeof submission !== 'object' || submission === null) throw invalid('request', 'expected { inputs } or { inputsFileUrl }')
  const { inputs, inputsFileUrl, callbackUrl, metadata, labeler, pending, tags } = submission
  if (inputs !== undefined && (!Array.isArray(inputs) || inputs.length === 0)) {
    throw invalid('inputs', 'must be a non-empty array of input objects')
  }
  if (inputs === undefined && (typeof inputsFileUrl !== 'string' || inputsFileUrl === '')) {
    throw invalid('inputs', 'submitJobs needs inputs or inputsFileUrl')
  }
  if (inputsFileUrl !== undefined && !URL.canParse(inputsFileUrl)) throw invalid('inputsFileUrl', 'expected an absolute URL of a JSON file')
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) throw invalid('metadata', 'expected an object')
  return {
    ...(inputs === undefined ? {} : { inputs }),
    ...(inputsFileUrl === undefined ? {} : { inputsFileUrl }),
    ...(callbackUrl === undefined ? {} : { callbackUrl: validateCallbackUrl(callbackUrl) }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(labeler === undefined ? {} : { labeler: stringArgument('labeler', labeler) }),
    ...(pending === undefined ? {} : { pending: booleanArgument('pending', pending) }),
    ...(tags === undefined ? {} : { tags: tagsArgument('tags', tags) })
  }
}

/** The review's body; neither a non-empty `response` nor a boolean `correct` is refused, as the SDK refuses it. */
export function reviewBody (review: ReviewJobRequest): Record<string, unknown> {
  if (typeof review !== 'object' || review === null) throw invalid('review', 'expected { response } and/or { correct }')
  const { response, correct } = review
  if (response !== undefined && (typeof response !== 'object' || response === null || Array.isArray(response))) {
    throw invalid('response', `expected the new output as an object, got ${describe(response)}`)
  }
  if (correct !== undefined) booleanArgument('correct', correct)
  if ((response === undefined || Object.keys(response).length === 0) && correct === undefined) {
    throw invalid('review', 'a review needs a response (a new output) or correct (true or false)')
  }
  return { ...(response === undefined ? {} : { response }), ...(correct === undefined ? {} : { correct }) }
}
