import type { ApiCallHook } from '../telemetry/telemetry.js'
import { apiKeyOption, baseUrlOption, describe, integerOption, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'

/** super.AI's historical API base; later SDK releases use regional hosts, so it is always configurable. */
export const DEFAULT_SUPERAI_BASE_URL = 'https://api.super.ai/v1'

export interface SuperaiClientOptions {
  /** Sent as the `API-KEY` header; never logged nor put in error messages. */
  readonly apiKey: string
  /** Default `https://api.super.ai/v1` (e.g. `https://api.prod-eu.super.ai/v1`). */
  readonly baseUrl?: string
  /** Milliseconds one attempt may take, body included. Default 30000. */
  readonly timeout?: number
  /** Further attempts after a 429 or 5xx answer. Default 2. */
  readonly retries?: number
  /** Base of the exponential backoff when the API sends no `Retry-After`, in ms. Default 500. */
  readonly retryDelay?: number
  /** Longest wait before a retry, in ms; a `Retry-After` asking for more ends the retries. Default 30000. */
  readonly maxRetryDelay?: number
  /** A fetch implementation (proxies, instrumentation); default the global one. */
  readonly fetch?: typeof globalThis.fetch
}

export interface SuperaiRequestOptions {
  /** Aborts the call, including a wait between retries. */
  readonly signal?: AbortSignal
  /** Overrides the client's per-attempt timeout for this call. */
  readonly timeout?: number
}

export interface ResolvedClientOptions {
  readonly apiKey: string
  readonly baseUrl: string
  readonly timeout: number
  readonly retries: number
  readonly retryDelay: number
  readonly maxRetryDelay: number
  readonly fetch: typeof globalThis.fetch
  /** The `telemetry` option's CLIENT span around each request; the plugin's own clients only, never a user's option. */
  readonly apiCall?: ApiCallHook | undefined
}

const CLIENT_OPTIONS = optionNames<SuperaiClientOptions>({
  apiKey: true, baseUrl: true, timeout: true, retries: true, retryDelay: true, maxRetryDelay: true, fetch: true
})

export function resolveClientOptions (options: SuperaiClientOptions): ResolvedClientOptions {
  plainObject('options', options, 'the client options { apiKey, baseUrl?, timeout?, retries?, retryDelay?, maxRetryDelay?, fetch? }')
  rejectUnknown(options, CLIENT_OPTIONS)
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw invalid('fetch', `expected a fetch function, got ${describe(options.fetch)}`)
  return {
    apiKey: apiKeyOption('apiKey', options.apiKey),
    baseUrl: baseUrlOption('baseUrl', options.baseUrl, DEFAULT_SUPERAI_BASE_URL).replace(/\/+$/, ''),
    timeout: integerOption('timeout', options.timeout, 30_000, 1),
    retries: integerOption('retries', options.retries, 2, 0),
    retryDelay: integerOption('retryDelay', options.retryDelay, 500, 0),
    maxRetryDelay: integerOption('maxRetryDelay', options.maxRetryDelay, 30_000, 0),
    fetch: options.fetch ?? globalThis.fetch
  }
}
