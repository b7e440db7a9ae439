import type { FastifyBaseLogger } from 'fastify'
import { createTracedClient, isSuperaiApiError, type SuperaiClient } from '../client/client.js'
import type { ApiCallHook } from '../telemetry/telemetry.js'
import type { SuperaiBatch, SuperaiJob } from '../client/api-schema.js'
import { codes, type CodedError } from '../errors.js'
import { lifecyclePosition } from '../events.js'
import { normalizeStatus } from './normalize.js'
import { isEntityEvent, type AnySuperaiEvent, type SuperaiEvent } from '../schema.js'

/** Milliseconds a job fetch may take by default before the callback is answered 503. */
export const VERIFY_TIMEOUT_MS = 5000

export interface VerifyOptions {
  /** super.AI API key, sent as `API-KEY`; never logged. Default: the `api` option's. */
  readonly apiKey?: string
  /** Default: the `api` option's base URL, else `https://api.super.ai/v1`. */
  readonly baseUrl?: string
  /** Milliseconds the job fetch may take before the callback is answered 503. Default 5000. */
  readonly timeout?: number
  /** Accept only jobs and batches of these projects (app ids); others are refused (422). Default: any. */
  readonly appIds?: readonly string[]
}

/** The codes of a verification that may yet pass (the API behind the callback, or unreachable): the sender retries. */
const RETRYABLE: ReadonlySet<string> = new Set<keyof typeof codes>(['FST_SUPERAI_VERIFY_UNAVAILABLE', 'FST_SUPERAI_VERIFY_API_BEHIND'])

/** How a failed verification ends a delivery: refused for good, or unavailable for now. */
export function verifyFailureOf (error: CodedError): 'rejected' | 'verifyUnavailable' {
  return RETRYABLE.has(error.code) ? 'verifyUnavailable' : 'rejected'
}

/** What super.AI itself says about a callback's job or batch, for the handlers' context. */
export type Verified =
  | { readonly job: SuperaiJob, readonly batch?: undefined }
  | { readonly job?: undefined, readonly batch: SuperaiBatch | undefined }

/**
 * Checks a callback against what the super.AI API reports (the `verify` option; a signature, where the
 * callback carries one, proves who sent it, this proves that the job really is in that state):
 * a job callback against its job (`GET {baseUrl}/jobs/{uuid}`) along the lifecycle of events.ts, a batch
 * callback against its batch (`GET {baseUrl}/apps/{appId}/batches/{entityId}`). Refuses for good (422) only what
 * can never turn into an acceptance; what may yet (the API behind the callback, the API unreachable) is a
 * 503, which the sender retries. Callbacks for one job or batch arriving together share one fetch.
 */
export class JobVerifier {
  readonly #client: SuperaiClient
  readonly #appIds: ReadonlySet<string> | undefined
  readonly #pending = new Map<string, Promise<SuperaiJob | SuperaiBatch>>()

  constructor (options: VerifyOptions & { readonly apiKey: string }, apiCall?: ApiCallHook) {
    // no retries here: a 503 makes super.AI redeliver later, which is the retry
    this.#client = createTracedClient({
      apiKey: options.apiKey,
      timeout: options.timeout ?? VERIFY_TIMEOUT_MS,
      retries: 0,
      ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl })
    }, apiCall)
    this.#appIds = options.appIds === undefined ? undefined : new Set(options.appIds)
  }

  /** Resolves to what the API reported when the callback agrees with it; throws a coded error otherwise. */
  async verify (event: AnySuperaiEvent, log: FastifyBaseLogger): Promise<Verified> {
    return isEntityEvent(event) ? await this.#verifyEntity(event, log) : { job: await this.#verifyJob(event, log) }
  }

  async #verifyJob (event: SuperaiEvent, log: FastifyBaseLogger): Promise<SuperaiJob> {
    const job = await this.#fetch(`job:${event.uuid}`, () => this.#client.getJob(event.uuid), log) as SuperaiJob
    if (job.uuid !== undefined && job.uuid.toLowerCase() !== event.uuid) {
      throw new codes.FST_SUPERAI_VERIFICATION_FAILED('the API returned another job')
    }
    this.#checkApp(job.appId, 'job')
    const status = typeof job.status === 'string' ? normalizeStatus(job.status) : undefined
    if (status === undefined) {
      // not the job object the reference documents, as an unexpected body is: the API's fault, not the sender's
      log.error({ uuid: event.uuid }, 'super.AI callback: the API answered a job without status')
      throw new codes.FST_SUPERAI_VERIFY_UNAVAILABLE()
    }
    // a non-RESOLVED action (an edit, a tag, a verdict) carries the job's state when it happened: same rule
    const callbackState = normalizeStatus(event.state)
    switch (lifecyclePosition(callbackState, status)) {
      case 'same':
      case 'behind':
        return job
      case 'ahead':
        throw new codes.FST_SUPERAI_VERIFY_API_BEHIND(status, callbackState)
      case 'contradicts':
        throw new codes.FST_SUPERAI_VERIFICATION_FAILED(`the job is ${status}, which never leads to ${callbackState}`)
      case 'unknown':
        // an undocumented value cannot be placed in the lifecycle; refusing it would lose the callback
        // for good if it is genuine, so it is accepted, and said
        log.warn({ uuid: event.uuid, callbackState, jobStatus: status },
          'super.AI callback: undocumented state or status, its place in the job lifecycle is unknown; accepted')
        return job
    }
  }

  async #verifyEntity (event: SuperaiEvent<'entity'>, log: FastifyBaseLogger): Promise<Verified> {
    const { appId, entityId, entityType } = event
    if (this.#appIds !== undefined || entityType === 'batch') {
      if (appId === undefined) throw new codes.FST_SUPERAI_VERIFICATION_FAILED(`the ${entityType} callback carries no appId`)
      this.#checkApp(appId, entityType)
    }
    if (entityType !== 'batch' || appId === undefined) {
      // no documented way to fetch another kind of entity: refusing it would lose it for good
      log.warn({ entityType, entityId }, 'super.AI callback: no documented way to verify this entity type; accepted unverified')
      return { batch: undefined }
    }
    // the batch is asked for under the callback's project, so a 2xx confirms that it belongs to it
    const batch = await this.#fetch(`batch:${appId}:${entityId}`, () => this.#client.getBatch(appId, entityId), log)
    return { batch }
  }

  #checkApp (appId: string | undefined, what: string): void {
    if (this.#appIds === undefined) return
    if (appId === undefined) throw new codes.FST_SUPERAI_VERIFICATION_FAILED(`the ${what} carries no appId`)
    if (!this.#appIds.has(appId)) throw new codes.FST_SUPERAI_VERIFICATION_FAILED(`the ${what} belongs to another project (${appId})`)
  }

  async #fetch (key: string, get: () => Promise<SuperaiJob | SuperaiBatch>, log: FastifyBaseLogger): Promise<SuperaiJob | SuperaiBatch> {
    let pending = this.#pending.get(key)
    if (pending === undefined) {
      pending = get().finally(() => this.#pending.delete(key))
      this.#pending.set(key, pending)
    }
    try {
      return await pending
    } catch (err) {
      if (isSuperaiApiError(err) && err.status === 404) {
        throw new codes.FST_SUPERAI_VERIFICATION_FAILED(`no such ${key.slice(0, key.indexOf(':'))}`)
      }
      // timeouts, 5xx, 429, a rejected API key: not the sender's fault, so it retries later
      log.error({ key, code: (err as { code?: unknown }).code, status: (err as { status?: unknown }).status }, 'super.AI callback: could not fetch it from the API to verify it')
      throw new codes.FST_SUPERAI_VERIFY_UNAVAILABLE()
    }
  }
}
