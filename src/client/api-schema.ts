import { Type, type Static } from '@sinclair/typebox'
import type { ApiJobStatus, UnknownValue } from '../events.js'

/**
 * TypeBox schemas of what the super.AI REST API answers. Every field is optional and extra properties are
 * kept: the API returns more than it documents and adds fields over time, and a client that rejected a
 * new field would break working integrations. Only the types of the fields we name are checked.
 */

const JobId = Type.Union([Type.String(), Type.Integer()], {
  description: 'Job id as shown in the super.AI dashboard (numeric in the SDK)'
})
/** ISO 8601 in the reference; numbers and null are accepted too rather than refusing a job for its date. */
const Timestamp = Type.Union([Type.String(), Type.Number(), Type.Null()])

/**
 * "The job object" of super.AI's API reference, as `GET /jobs/{job_id}` and the job list return it (the
 * callback's `uuid` works as `job_id`). It says `status` where a callback says `state`, and holds no output
 * (that is `GET /jobs/{job_id}/response`). Whether an `EXPIRED` job carries `completed` is not documented.
 */
export const SuperaiJobSchema = Type.Object({
  id: Type.Optional(JobId),
  uuid: Type.Optional(Type.String({ description: 'UUID of the job, as sent in callbacks' })),
  appId: Type.Optional(Type.String({ description: 'The project (app) the job belongs to' })),
  // the documented spellings autocomplete; a status added later still type-checks and validates
  status: Type.Optional(Type.Unsafe<ApiJobStatus | UnknownValue>(Type.String({ description: 'The job\'s state, API spelling (POST_PROCESSED)' }))),
  created: Type.Optional(Timestamp),
  completed: Type.Optional(Timestamp),
  callbackUrl: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  input: Type.Optional(Type.Unknown()),
  metadata: Type.Optional(Type.Unknown()),
  tags: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
  correct: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  jobType: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  batchId: Type.Optional(Type.Union([Type.String(), Type.Integer(), Type.Null()]))
}, { additionalProperties: true, $id: 'SuperaiJob', description: 'A super.AI job object' })

export type SuperaiJob = Static<typeof SuperaiJobSchema> & { readonly [property: string]: unknown }

/** What `POST /apps/{app_id}/jobs` answers: a confirmation, the batch id, the job uuid for a single input. */
export const SuperaiSubmitJobsResultSchema = Type.Object({
  message: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  batchId: Type.Optional(Type.Union([Type.String(), Type.Integer(), Type.Null()])),
  uuid: Type.Optional(Type.Union([Type.String(), Type.Null()]))
}, { additionalProperties: true, $id: 'SuperaiSubmitJobsResult', description: 'Confirmation of a job submission' })

export type SuperaiSubmitJobsResult = Static<typeof SuperaiSubmitJobsResultSchema> & { readonly [property: string]: unknown }

/**
 * A job batch as `GET /apps/{app_id}/batches/{batch_id}` answers it (the SDK's `fetch_batch_job`). Its fields
 * are not documented beyond being an object (`error_message` and `errors_with_filename` when ingestion
 * failed), so none is required or checked: every property is kept.
 */
export const SuperaiBatchSchema = Type.Object({}, {
  additionalProperties: true, $id: 'SuperaiBatch', description: 'A super.AI job batch (its fields are not documented)'
})

export type SuperaiBatch = Static<typeof SuperaiBatchSchema> & { readonly [property: string]: unknown }

/**
 * One page of `GET /apps/{app_id}/jobs` (the SDK's `list_jobs`): the jobs, without outputs, and how many
 * pages the query has. More fields may come and are kept.
 */
export const SuperaiJobListSchema = Type.Object({
  jobs: Type.Array(SuperaiJobSchema),
  pages: Type.Integer({ minimum: 0, description: 'Number of pages of the query, pages counted from 0' })
}, { additionalProperties: true, $id: 'SuperaiJobList', description: 'A page of a project\'s jobs' })

export type SuperaiJobList = Omit<Static<typeof SuperaiJobListSchema>, 'jobs'> & {
  readonly jobs: SuperaiJob[]
  readonly [property: string]: unknown
}

/** `GET /apps/{app_id}/batches` (the SDK's `fetch_batches_job`): the project's batches not yet processed. */
export const SuperaiBatchListSchema = Type.Array(SuperaiBatchSchema, { $id: 'SuperaiBatchList', description: 'A project\'s unprocessed batches' })

/** A job of an export: the job object and its output (`response`), as the export's JSON file lists them. */
export const SuperaiExportedJobSchema = Type.Intersect([SuperaiJobSchema, Type.Object({ response: Type.Optional(Type.Unknown()) })], {
  $id: 'SuperaiExportedJob', description: 'A job with its response, as exported'
})

export type SuperaiExportedJob = SuperaiJob & { readonly response?: unknown }

/** `POST /apps/{app_id}/job_responses` (the SDK's `download_jobs`): the export's operation, to poll. */
export const SuperaiJobsOperationStartSchema = Type.Object({
  operationId: Type.Union([Type.Integer(), Type.String()])
}, { additionalProperties: true, $id: 'SuperaiJobsOperationStart', description: 'An export started' })

export type SuperaiJobsOperationStart = Static<typeof SuperaiJobsOperationStartSchema> & { readonly [property: string]: unknown }

/** `GET /operations/{app_id}/{operation_id}` (the SDK's `get_jobs_operation`): `status` is `COMPLETED` once the export is ready. */
export const SuperaiJobsOperationSchema = Type.Object({
  id: Type.Union([Type.Integer(), Type.String()]),
  status: Type.String()
}, { additionalProperties: true, $id: 'SuperaiJobsOperation', description: 'An export operation' })

export type SuperaiJobsOperation = Static<typeof SuperaiJobsOperationSchema> & { readonly [property: string]: unknown }

/** `POST /operations/{app_id}/{operation_id}/download-url` (the SDK's `generates_downloaded_jobs_url`). */
export const SuperaiDownloadUrlSchema = Type.Object({
  downloadUrl: Type.String({ description: 'Where the export\'s zip is, for `secondsTtl` seconds; fetched without the API key' })
}, { additionalProperties: true, $id: 'SuperaiDownloadUrl', description: 'The export\'s download URL' })

export type SuperaiDownloadUrl = Static<typeof SuperaiDownloadUrlSchema> & { readonly [property: string]: unknown }
