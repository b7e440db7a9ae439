import type { Static, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { createTracedClient, isSuperaiApiError, type SuperaiApiError, type SuperaiClient } from '../client/client.js'
import type { ApiCallHook } from '../telemetry/telemetry.js'
import { isRetryableStatus, retrying } from '../client/retry.js'
import { codes } from '../errors.js'

/**
 * `context.output(schema?)`: the job's output, the whole answer of `GET {base}/jobs/{uuid}/response` (the
 * document whose `response` key holds it). Checked against `schema` when given (a mismatch rejects with
 * `FST_SUPERAI_API_INVALID_RESPONSE` naming the path), and typed by it.
 */
export interface JobOutput {
  (): Promise<unknown>
  <S extends TSchema>(schema: S): Promise<Static<S>>
}

/** Where the output is fetched from: a key and a base URL, and how long one attempt may take. */
export interface OutputCredentials {
  readonly apiKey: string
  readonly baseUrl?: string | undefined
  readonly timeout?: number | undefined
}

/**
 * The key `context.output()` uses: the `api` option's, else `verify`'s, else `reconcile`'s (each a
 * super.AI key of the same account); undefined when none is given, and the call then says to set `api`.
 */
export function outputCredentials (options: {
  readonly api?: OutputCredentials | undefined
  readonly verify?: OutputCredentials | undefined
  readonly reconcile?: OutputCredentials | undefined
}): OutputCredentials | undefined {
  const { api, verify, reconcile } = options
  if (api !== undefined) return api
  // verify's timeout is the callback's 503 deadline, not an output fetch's: the client's default applies
  const fallback = verify ?? reconcile
  return fallback === undefined ? undefined : { apiKey: fallback.apiKey, baseUrl: fallback.baseUrl }
}

/** The client's own default attempt timeout, for credentials that set none. */
const ATTEMPT_TIMEOUT_MS = 30_000
/** Retries of one delivery's fetch at most; the budget usually ends them first. */
const MAX_RETRIES = 5
/** Base of the backoff between retries when the API sends no `Retry-After`. */
const RETRY_BASE_MS = 250

/** A failure worth another attempt: no answer in time, no connection, a 429 or a 5xx. */
function isTransient (error: unknown): error is SuperaiApiError {
  if (!isSuperaiApiError(error)) return false
  return error.code === 'FST_SUPERAI_API_TIMEOUT' || error.code === 'FST_SUPERAI_API_UNREACHABLE' ||
    (error.code === 'FST_SUPERAI_API_ERROR' && isRetryableStatus(error.status))
}

interface Fetched {
  readonly body: unknown
  readonly attempts: number
}

/**
 * Makes each delivery's `context.output`: one per registration (built where the pipeline is), one
 * `forDelivery(uuid)` per delivery, so a retry or an `EDITED` callback fetches afresh while every handler
 * and every call of one delivery share one request. Transient failures are retried through the client's
 * retry loop until `budgetMs` after `forDelivery`, kept below the lease so that a delivery whose fetch
 * keeps failing fails while it still holds its claim, and is delivered again.
 */
export class JobOutputs {
  readonly #client: SuperaiClient | undefined
  readonly #timeout: number
  readonly #budgetMs: number

  /** `apiCall`: the `telemetry` option's CLIENT span around each fetch. */
  constructor (credentials: OutputCredentials | undefined, budgetMs: number, apiCall?: ApiCallHook) {
    // no retries in the client: this module's loop retries timeouts and network failures too, within the budget
    this.#client = credentials === undefined
      ? undefined
      : createTracedClient({ apiKey: credentials.apiKey, retries: 0, ...(credentials.baseUrl === undefined ? {} : { baseUrl: credentials.baseUrl }) }, apiCall)
    this.#timeout = credentials?.timeout ?? ATTEMPT_TIMEOUT_MS
    this.#budgetMs = budgetMs
  }

  /** The `output` of one delivery of the job `uuid`; nothing is fetched until it is called. */
  forDelivery (uuid: string): JobOutput {
    const client = this.#client
    if (client === undefined) {
      return (async () => { throw new codes.FST_SUPERAI_API_NOT_CONFIGURED('context.output()') }) as JobOutput
    }
    const deadline = Date.now() + this.#budgetMs
    let fetched: Promise<Fetched> | undefined
    return (async (schema?: TSchema) => {
      fetched ??= this.#fetch(client, uuid, deadline)
      const { body, attempts } = await fetched
      if (schema === undefined || Value.Check(schema, body)) return body
      throw invalidResponse(client, uuid, schema, body, attempts)
    }) as JobOutput
  }

  async #fetch (client: SuperaiClient, uuid: string, deadline: number): Promise<Fetched> {
    // cuts a wait between attempts short at the deadline; cleared as soon as the loop ends
    const budget = new AbortController()
    const timer = setTimeout(() => { budget.abort() }, Math.max(0, deadline - Date.now()))
    try {
      const { result, attempts } = await retrying<{ readonly body?: unknown, readonly error?: unknown }>(async () => {
        const left = deadline - Date.now()
        try {
          return { result: { body: await client.getJobResponse(uuid, { timeout: Math.max(1, Math.min(this.#timeout, left)) }) }, retryable: false }
        } catch (error) {
          const retryAfter = isSuperaiApiError(error) ? error.retryAfter : undefined
          // a Retry-After past the deadline would only end in the same failure, later
          const retryable = isTransient(error) && deadline - Date.now() > (retryAfter ?? 0)
          return { result: { error }, retryable, retryAfter }
        }
      }, { retries: MAX_RETRIES, baseDelay: RETRY_BASE_MS, maxDelay: this.#budgetMs, longRetryAfter: 'give-up', signal: budget.signal })
      if ('error' in result) throw result.error
      return { body: result.body, attempts }
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * The client's invalid-response error for an output that does not match the caller's schema, with the
 * details the client attaches to its own (the body was fetched once and is checked per call).
 */
function invalidResponse (client: SuperaiClient, uuid: string, schema: TSchema, body: unknown, attempts: number): SuperaiApiError {
  const url = `${client.baseUrl}/jobs/${encodeURIComponent(uuid)}/response`
  const first = Value.Errors(schema, body).First()
  const reason = first === undefined ? 'schema mismatch' : `${first.path === '' ? '(root)' : first.path} ${first.message}`
  // a 2xx: the client answers a successful call with its body alone, so 200 stands for it
  return Object.assign(new codes.FST_SUPERAI_API_INVALID_RESPONSE(`GET ${url}`, reason), { method: 'GET', url, status: 200, body, attempts })
}
