import { codes } from '../errors.js'

/** Details attached to every error the client throws, so callers branch on values, not on messages. */
export interface SuperaiApiErrorDetails {
  readonly method: string
  readonly url: string
  /** The HTTP status the API answered; 0 when it never answered (timeout, network). */
  readonly status: number
  /** The answer's body: parsed JSON, else text; undefined when there was none. */
  readonly body: unknown
  /** Attempts made, retries included. */
  readonly attempts: number
  /** The last `Retry-After` in ms, when the API sent one. */
  readonly retryAfter?: number
}

export type ClientErrorCode = 'FST_SUPERAI_API_ERROR' | 'FST_SUPERAI_API_TIMEOUT' | 'FST_SUPERAI_API_UNREACHABLE' | 'FST_SUPERAI_API_INVALID_RESPONSE'
export type SuperaiApiError = InstanceType<typeof codes[ClientErrorCode]> & SuperaiApiErrorDetails

const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set<ClientErrorCode>([
  'FST_SUPERAI_API_ERROR', 'FST_SUPERAI_API_TIMEOUT', 'FST_SUPERAI_API_UNREACHABLE', 'FST_SUPERAI_API_INVALID_RESPONSE'
])

export function isSuperaiApiError (error: unknown): error is SuperaiApiError {
  return error instanceof Error && CLIENT_ERROR_CODES.has((error as { code?: unknown }).code as string) &&
    typeof (error as { status?: unknown }).status === 'number'
}

/** The coded error of one call: `where` is `METHOD url`, `detail` the status, the timeout or the reason. */
export function apiError (
  code: ClientErrorCode, method: string, url: string,
  answer: Omit<SuperaiApiErrorDetails, 'method' | 'url'>, detail: string | number, cause?: unknown
): SuperaiApiError {
  const where = `${method} ${url}`
  const error = code === 'FST_SUPERAI_API_ERROR' || code === 'FST_SUPERAI_API_TIMEOUT'
    ? new codes[code](where, Number(detail))
    : new codes[code](where, String(detail))
  if (cause !== undefined) error.cause = cause
  return Object.assign(error, { method, url, ...answer })
}
