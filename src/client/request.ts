import type { Static, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { apiError, type ClientErrorCode } from './api-error.js'
import type { ResolvedClientOptions, SuperaiRequestOptions } from './options.js'
import { readResponseBody } from './response-body.js'
import { parseRetryAfter, retrying } from './retry.js'

/** One call to the API: what is sent, and which failures may be sent again. */
export interface CallSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'
  /** The path after the base URL, with its query string if any; or, with `absolute`, the whole URL. */
  readonly path: string
  /** The path as the API documents it, its parameters named (`/jobs/{uuid}`): the CLIENT span's `url.template`. */
  readonly template?: string
  /**
   * A URL the API handed out (the export's download URL): fetched as given, without the `API-KEY`
   * header, which must not travel to whatever host signed it.
   */
  readonly absolute?: true
  readonly body?: unknown
  /** Which error statuses may be retried for this call. */
  readonly retryOn: (status: number) => boolean
  /** `bytes`: the answer's body as raw bytes (a zip), not JSON. */
  readonly read?: 'json' | 'bytes'
}

export interface ApiAnswer {
  readonly status: number
  readonly body: unknown
  readonly attempts: number
  readonly retryAfter?: number
}

export const callUrl = (options: ResolvedClientOptions, spec: CallSpec): string => spec.absolute === true ? spec.path : options.baseUrl + spec.path

/** The coded error of `spec`'s call; a handed-out URL loses its query, where such URLs carry their signature. */
export const callError = (
  options: ResolvedClientOptions, spec: CallSpec, code: ClientErrorCode, answer: ApiAnswer, detail: string | number, cause?: unknown
): Error => apiError(code, spec.method, spec.absolute === true ? spec.path.replace(/[?#].*$/s, '') : callUrl(options, spec), answer, detail, cause)

/** The answer's body checked against `schema`; undefined for an empty body (204). */
export function checked<S extends TSchema> (options: ResolvedClientOptions, spec: CallSpec, answer: ApiAnswer, schema: S): Static<S> | undefined {
  if (answer.body === undefined) return undefined
  if (Value.Check(schema, answer.body)) return answer.body
  const first = Value.Errors(schema, answer.body).First()
  const reason = first === undefined ? 'schema mismatch' : `${first.path === '' ? '(root)' : first.path} ${first.message}`
  throw callError(options, spec, 'FST_SUPERAI_API_INVALID_RESPONSE', answer, reason)
}

/** As {@link checked}, for an answer that must have a body: an empty one is as unexpected as a wrong one. */
export function checkedBody<S extends TSchema> (options: ResolvedClientOptions, spec: CallSpec, answer: ApiAnswer, schema: S): Static<S> {
  const body = checked(options, spec, answer, schema)
  if (body === undefined) throw callError(options, spec, 'FST_SUPERAI_API_INVALID_RESPONSE', answer, 'an empty body')
  return body
}

/** Sends one call, retrying the statuses `spec.retryOn` allows; throws a coded error for anything but 2xx. */
export async function request (options: ResolvedClientOptions, spec: CallSpec, requestOptions: SuperaiRequestOptions = {}): Promise<ApiAnswer> {
  const url = callUrl(options, spec)
  const timeout = requestOptions.timeout ?? options.timeout
  const ok = (status: number): boolean => status >= 200 && status < 300
  const { result, interrupted } = await retrying(async (attempt) => {
    const timeoutSignal = AbortSignal.timeout(timeout)
    const signal = requestOptions.signal === undefined ? timeoutSignal : AbortSignal.any([timeoutSignal, requestOptions.signal])
    try {
      const send = (): Promise<Response> => options.fetch(url, {
        method: spec.method,
        headers: {
          ...(spec.absolute === true ? {} : { 'API-KEY': options.apiKey }),
          accept: spec.read === 'bytes' ? '*/*' : 'application/json',
          ...(spec.body === undefined ? {} : { 'content-type': 'application/json' })
        },
        ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
        signal,
        redirect: 'error'
      })
      const response = options.apiCall === undefined
        ? await send()
        : await options.apiCall({ method: spec.method, template: templateOf(options, spec), url, attempt }, send, statusOf)
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
      const body = spec.read === 'bytes' && ok(response.status) ? new Uint8Array(await response.arrayBuffer()) : await readResponseBody(response)
      const answer: ApiAnswer = { status: response.status, body, attempts: attempt, ...(retryAfter === undefined ? {} : { retryAfter }) }
      return { result: answer, retryable: !ok(answer.status) && spec.retryOn(answer.status), retryAfter }
    } catch (error) {
      if (requestOptions.signal?.aborted === true) throw requestOptions.signal.reason
      const failure = { status: 0, body: undefined, attempts: attempt }
      if (timeoutSignal.aborted) throw callError(options, spec, 'FST_SUPERAI_API_TIMEOUT', failure, timeout, error)
      throw callError(options, spec, 'FST_SUPERAI_API_UNREACHABLE', failure, describeFailure(error), error)
    }
  }, { retries: options.retries, baseDelay: options.retryDelay, maxDelay: options.maxRetryDelay, longRetryAfter: 'give-up', signal: requestOptions.signal })
  if (ok(result.status)) return result
  if (interrupted) throw requestOptions.signal?.reason
  throw callError(options, spec, 'FST_SUPERAI_API_ERROR', result, result.status)
}

const statusOf = (response: Response): number => response.status

/** The template under the base URL's own path (`/v1/jobs/{uuid}`); a handed-out URL's own path, which names nothing. */
function templateOf (options: ResolvedClientOptions, spec: CallSpec): string {
  if (spec.absolute === true || spec.template === undefined) return new URL(callUrl(options, spec)).pathname
  return new URL(options.baseUrl).pathname.replace(/\/+$/, '') + spec.template
}

function describeFailure (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
  return `${error.message}${cause}`
}
