import type { FastifyBaseLogger } from 'fastify'
import type { SuperaiClient } from '../client/client.js'
import type { IdempotencyStore } from '../store/store.js'
import type { Telemetry } from '../telemetry/telemetry.js'
import { submissionAnchorKey } from './idempotency-key.js'

/** Where a submission's trace context is kept, and for how long (the dedupe window, `ttl`). */
export interface SubmissionLinkSettings {
  readonly keyPrefix: string
  readonly ttlMs: number
}

/**
 * `app.superai.api` whose `submitJobs`, called inside a span, stores that span's `traceparent` beside the
 * job it created (and its batch), where the claim of each of the job's callbacks reads it in the same
 * script: the callback's `process` span links to it, in any process sharing the store, until `ttl`.
 * super.AI answers a job's `uuid` only for a submission of one input (`create_jobs`): then the job's
 * callbacks link; a submission of several names only its `batchId`, so then the batch's v2 callbacks
 * link, not its jobs'. One key per submission. The same client without the `telemetry` option or
 * without a store that can `write`.
 */
export function linkingSubmissions (client: SuperaiClient, telemetry: Telemetry, store: IdempotencyStore,
  settings: SubmissionLinkSettings, log: FastifyBaseLogger): SuperaiClient {
  if (!telemetry.enabled || typeof store.write !== 'function') return client
  const write = store.write.bind(store)
  const submitJobs: SuperaiClient['submitJobs'] = async (appId, request, options) => {
    // the caller's span, taken before the call: the request's own CLIENT span is its child
    const anchor = telemetry.submissionAnchor()
    const result = await client.submitJobs(appId, request, options)
    if (anchor === undefined) return result
    // one key per submission: the job's when the answer names it, else the batch's (several inputs)
    const id = named(result.uuid) ?? named(result.batchId)
    if (id === undefined) return result
    try {
      await write(settings.keyPrefix + submissionAnchorKey(id), anchor, settings.ttlMs)
    } catch (err) {
      // the jobs exist: a lost link is not worth failing the submission for
      log.warn({ err, id }, 'superai-callbacks: could not store the submission\'s trace context; its callbacks will not link to it')
    }
    return result
  }
  return Object.freeze({ ...client, submitJobs })
}

const named = (id: unknown): string | undefined =>
  (typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)) ? String(id) : undefined
