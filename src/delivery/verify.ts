import type { FastifyBaseLogger } from 'fastify'
import { createSuperaiClient, isSuperaiApiError, type SuperaiClient, type SuperaiJob } from '../client/client.js'
import { codes } from '../errors.js'
import { normalizeStatus } from './normalize.js'
import type { SuperaiEvent } from '../schema.js'

/** Milliseconds a job fetch may take by default before the callback is answered 503. */
export const VERIFY_TIMEOUT_MS = 5000

export interface VerifyOptions {
  /** super.AI API key, sent as `API-KEY`; never logged. */
  readonly apiKey: string
  /** Default `https://api.super.ai/v1`. */
  readonly baseUrl?: string
  /** Milliseconds the job fetch may take before the callback is answered 503. Default 5000. */
  readonly timeout?: number
}

/**
 * Checks a callback against the job super.AI itself reports (`GET {baseUrl}/jobs/{uuid}`), since
 * super.AI does not sign its callbacks. Callbacks for one job arriving together share one fetch.
 */
export class JobVerifier {
  readonly #client: SuperaiClient
  readonly #pending = new Map<string, Promise<SuperaiJob>>()

  constructor (options: VerifyOptions) {
    // no retries here: a 503 makes super.AI redeliver later, which is the retry
    this.#client = createSuperaiClient({
      apiKey: options.apiKey,
      timeout: options.timeout ?? VERIFY_TIMEOUT_MS,
      retries: 0,
      ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl })
    })
  }

  /** Resolves to the job when it exists and is in the callback's state; throws a coded error otherwise. */
  async verify (event: SuperaiEvent, log: FastifyBaseLogger): Promise<SuperaiJob> {
    const job = await this.#fetch(event.uuid, log)
    if (job.uuid !== undefined && job.uuid.toLowerCase() !== event.uuid) {
      throw new codes.FST_SUPERAI_VERIFICATION_FAILED('the API returned another job')
    }
    const state = typeof job.status === 'string' ? normalizeStatus(job.status) : undefined
    if (state !== event.state) {
      log.warn({ uuid: event.uuid, callbackState: event.state, jobState: state }, 'super.AI callback refused: state differs from the job')
      throw new codes.FST_SUPERAI_VERIFICATION_FAILED(`the job's state is not ${event.state}`)
    }
    return job
  }

  async #fetch (uuid: string, log: FastifyBaseLogger): Promise<SuperaiJob> {
    let pending = this.#pending.get(uuid)
    if (pending === undefined) {
      pending = this.#client.getJob(uuid).finally(() => this.#pending.delete(uuid))
      this.#pending.set(uuid, pending)
    }
    try {
      return await pending
    } catch (err) {
      if (isSuperaiApiError(err) && err.status === 404) {
        log.warn({ uuid }, 'super.AI callback refused: no such job')
        throw new codes.FST_SUPERAI_VERIFICATION_FAILED('no such job')
      }
      // timeouts, 5xx, 429, a rejected API key: not the sender's fault, so it retries later
      log.error({ uuid, code: (err as { code?: unknown }).code, status: (err as { status?: unknown }).status }, 'super.AI callback: could not fetch the job to verify it')
      throw new codes.FST_SUPERAI_VERIFY_UNAVAILABLE()
    }
  }
}
