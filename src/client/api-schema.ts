import { Type, type Static } from '@sinclair/typebox'
import type { JobState, UnknownValue } from '../events.js'

/**
 * TypeBox schemas of what the super.AI REST API answers. Every field is optional and extra properties are
 * kept: the API returns more than it documents and adds fields over time, and a client that rejected a
 * new field would break working integrations. Only the types of the fields we name are checked.
 */

const JobId = Type.Union([Type.String(), Type.Integer()], {
  description: 'Job id as shown in the super.AI dashboard (numeric in the SDK)'
})
const Timestamp = Type.Union([Type.String(), Type.Number(), Type.Null()])

/** A job as `GET /jobs/{job_id}` returns it; the callback's `uuid` works as `job_id`. */
export const SuperaiJobSchema = Type.Object({
  id: Type.Optional(JobId),
  uuid: Type.Optional(Type.String({ description: 'UUID of the job, as sent in callbacks' })),
  appId: Type.Optional(Type.String({ description: 'The project (app) the job belongs to' })),
  // Jobs report states callbacks never carry (SCHEDULED, IN_PROGRESS): the documented ones autocomplete.
  state: Type.Optional(Type.Unsafe<JobState | UnknownValue>(Type.String({ description: 'Job state' }))),
  batchId: Type.Optional(Type.Union([Type.String(), Type.Integer(), Type.Null()])),
  callbackUrl: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  createdDate: Type.Optional(Timestamp),
  completedDate: Type.Optional(Timestamp),
  metadata: Type.Optional(Type.Unknown()),
  response: Type.Optional(Type.Unknown())
}, { additionalProperties: true, $id: 'SuperaiJob', description: 'A super.AI job object' })

export type SuperaiJob = Static<typeof SuperaiJobSchema> & { readonly [property: string]: unknown }

/** What `POST /apps/{app_id}/jobs` answers: a confirmation, the batch id, the job uuid for a single input. */
export const SuperaiSubmitJobsResultSchema = Type.Object({
  message: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  batchId: Type.Optional(Type.Union([Type.String(), Type.Integer(), Type.Null()])),
  uuid: Type.Optional(Type.Union([Type.String(), Type.Null()]))
}, { additionalProperties: true, $id: 'SuperaiSubmitJobsResult', description: 'Confirmation of a job submission' })

export type SuperaiSubmitJobsResult = Static<typeof SuperaiSubmitJobsResultSchema> & { readonly [property: string]: unknown }
