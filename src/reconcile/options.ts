import { DEFAULT_SUPERAI_BASE_URL } from '../client/client.js'
import { credentialsFor, type ResolvedApiOptions } from '../client/api-option.js'
import { appIdsOption, integerOption, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'

/** The `reconcile` option: list the projects' jobs at super.AI and run the state changes whose callback never arrived. */
export interface SuperaiReconcileOptions {
  /** super.AI API key, sent as `API-KEY`; never logged. Default: the `api` option's. */
  readonly apiKey?: string
  /** The projects (app uuids) whose jobs are reconciled; at least one. */
  readonly appIds: readonly string[]
  /** Default: the `api` option's base URL, else `https://api.super.ai/v1`. */
  readonly baseUrl?: string
  /** Seconds between passes, one per interval across every instance sharing the store. Default 300. */
  readonly interval?: number
  /** Seconds: how far back a job's completion may lie to be reconciled. Default 86400 (or `ttl` when shorter); at most `ttl`. */
  readonly lookback?: number
}

export interface ResolvedReconcileOptions {
  readonly apiKey: string
  readonly appIds: readonly string[]
  readonly baseUrl: string
  readonly intervalMs: number
  readonly lookbackMs: number
}

const RECONCILE_DEFAULTS = Object.freeze({ interval: 300, lookback: 24 * 60 * 60 } as const)

const RECONCILE_OPTIONS = optionNames<SuperaiReconcileOptions>({ apiKey: true, appIds: true, baseUrl: true, interval: true, lookback: true })

/**
 * Validates `reconcile`; `ttlSeconds` bounds the lookback (a processed mark older than ttl is forgotten),
 * and `api` gives the key and base URL it leaves out.
 */
export function resolveReconcileOptions (raw: unknown, ttlSeconds: number, api?: ResolvedApiOptions): ResolvedReconcileOptions | undefined {
  if (raw === undefined) return undefined
  const { apiKey, appIds, baseUrl, interval, lookback } = plainObject('reconcile', raw, '{ apiKey?, appIds, baseUrl?, interval?, lookback? }')
  rejectUnknown(raw as object, RECONCILE_OPTIONS, 'reconcile.')
  const lookbackS = integerOption('reconcile.lookback', lookback, Math.min(RECONCILE_DEFAULTS.lookback, ttlSeconds), 1, 365 * 24 * 60 * 60)
  if (lookbackS > ttlSeconds) {
    throw invalid('reconcile.lookback', `must be at most ttl (${ttlSeconds} s): a state change processed longer ago than ttl is forgotten and would run again, got ${lookbackS}`)
  }
  const credentials = credentialsFor('reconcile', apiKey, baseUrl, api)
  return Object.freeze({
    apiKey: credentials.apiKey,
    appIds: appIdsOption('reconcile.appIds', appIds),
    baseUrl: credentials.baseUrl ?? DEFAULT_SUPERAI_BASE_URL,
    intervalMs: integerOption('reconcile.interval', interval, RECONCILE_DEFAULTS.interval, 1, 24 * 60 * 60) * 1000,
    lookbackMs: lookbackS * 1000
  })
}
