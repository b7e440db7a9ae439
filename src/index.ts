import fp from 'fastify-plugin'
import { superaiCallbacksPlugin, type SuperaiDecorator } from './plugin.js'
import type { SuperaiCallbacksOptions } from './options.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Subscribe to super.AI callbacks: `app.superai.onJobCompleted(handler)`, `app.superai.on(name, handler)`. */
    readonly superai: SuperaiDecorator
  }
}

/** Receive super.AI job callbacks: validated, deduplicated through the store, dispatched to typed handlers. */
const superaiCallbacks = fp<SuperaiCallbacksOptions>(superaiCallbacksPlugin, {
  name: 'fastify-superai-callbacks',
  fastify: '5.x'
})

export default superaiCallbacks
export { superaiCallbacks }

export { codes, type SuperaiErrorCode } from './errors.js'
export {
  BATCH_STATES, EVENT_NAMES, JOB_ACTIONS, JOB_STATES,
  type ActionEventName, type BatchEventName, type BatchState, type EntityEventName, type EntityType, type EventName,
  type JobAction, type JobEventName, type JobState, type JobStatus, type MethodName, type StateEventName, type UnknownValue
} from './events.js'
export {
  isEntityEvent, type AnySuperaiEvent, type BatchCallbackBody, type CallbackBody, type SuperaiCallback, type SuperaiEvent
} from './schema.js'
export type {
  HandlerContext, HttpHandlerContext, JobHandlerContext, QueueHandlerContext, ReconcileHandlerContext, SuperaiHandler, SuperaiSubscriptions, Unsubscribe
} from './delivery/dispatcher.js'
export type { JobOutput } from './delivery/job-output.js'
export type { WaitForOptions, WaitResult } from './wait/job-waiters.js'
export {
  DELIVERY_CHANNEL, HANDLE_CHANNEL,
  type DeliveryMessage, type DeliveryOutcome, type DeliverySource, type EventCounter, type HandleMessage, type SuperaiStats
} from './observability.js'
export type { SuperaiDecorator } from './plugin.js'
export type { SuperaiCallbacksOptions } from './options.js'
export { canonicalJson, defaultIdempotencyKey } from './delivery/idempotency-key.js'
export type { ClaimResult, IdempotencyStore, JobStatesQuery, MarkedClaimResult, StateAnnouncement, StateRecord } from './store/store.js'
export { MemoryStore, type MemoryStoreOptions } from './store/memory.js'
export { RedisStore, type RedisStoreOptions } from './store/redis.js'
export type { RedisClusterConfig, RedisSentinelOptions } from './store/redis-config.js'
export type { SecretLocation } from './receiver/authenticate.js'
export { signCallback, type SignatureKey, type SignedCallback } from './signature/sign.js'
export type { SignatureOptions } from './signature/options.js'
export type { VerifyOptions } from './delivery/api-check.js'
export type { SuperaiApiOptions } from './client/api-option.js'
export {
  DEFAULT_SUPERAI_BASE_URL, createSuperaiClient, isSuperaiApiError, type GetJobResponse, type ListJobsQuery, type SuperaiJobList, type SubmitJobsRequest, type SuperaiApiError,
  type SuperaiApiErrorDetails, type SuperaiBatch, type SuperaiClient,
  type SuperaiClientOptions, type SuperaiJob, type SuperaiJobInput, type SuperaiRequestOptions, type SuperaiSubmitJobsResult,
  type DownloadJobsQuery, type ExportJobsOptions, type RemoveTagsFilter, type ReviewJobRequest, type SuperaiDownloadUrl,
  type SuperaiExportedJob, type SuperaiJobsOperation, type SuperaiJobsOperationStart, type SuperaiTags
} from './client/client.js'
export { checkCallbackUrl, isValidCallbackUrl, validateCallbackUrl, type CallbackUrlCheck } from './client/callback-url.js'
export { createSuperaiWorker, type SuperaiWorker, type SuperaiWorkerOptions } from './create-worker.js'
export type { SuperaiQueueOptions } from './queue/options.js'
export type { CallbackJobData, DeadLetter, ReplayResult, SuperaiDeadLetters, SuperaiQueue } from './queue/types.js'
export type { SuperaiReconcileOptions } from './reconcile/options.js'
export type { ReconcileSummary } from './reconcile/reconciler.js'
