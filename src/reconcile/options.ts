import { codes } from '../errors.js'
import { DEFAULT_SUPERAI_BASE_URL } from '../client/client.js'

/** The `reconcile` option: list the projects' jobs at super.AI and run the state changes whose callback never arrived. */
export interface SuperaiReconcileOptions {
  /** super.AI API key, sent as `API-KEY`; never logged. */
  readonly apiKey: string
  /** The projects (app uuids) whose jobs are reconciled; at least one. */
  readonly appIds: readonly string[]
  /** Default `https://api.super.ai/v1`. */
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

const invalid = (option: string, reason: string): Error => new codes.FST_SUPERAI_INVALID_OPTION(option, reason)

function seconds (option: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(option, `expected a whole number of seconds from 1 to ${max}, got ${typeof value === 'number' ? value : typeof value}`)
  }
  return value
}

/** Validates `reconcile`; `ttlSeconds` bounds the lookback (a processed mark older than ttl is forgotten). */
export function resolveReconcileOptions (raw: unknown, ttlSeconds: number): ResolvedReconcileOptions | undefined {
  if (raw === undefined) return undefined
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('reconcile', 'expected { apiKey, appIds, baseUrl?, interval?, lookback? }')
  const { apiKey, appIds, baseUrl, interval, lookback, ...rest } = raw as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw invalid(`reconcile.${unknown}`, 'unknown option')
  if (typeof apiKey !== 'string' || apiKey.trim() === '') throw invalid('reconcile.apiKey', 'expected a non-empty string')
  if (!Array.isArray(appIds) || appIds.length === 0 || !appIds.every((id) => typeof id === 'string' && id.trim() !== '')) {
    throw invalid('reconcile.appIds', 'expected a non-empty array of project (app) uuids')
  }
  if (baseUrl !== undefined && (typeof baseUrl !== 'string' || !/^https?:\/\/[^/]/.test(baseUrl) || !URL.canParse(baseUrl))) {
    throw invalid('reconcile.baseUrl', 'expected an absolute http(s) URL')
  }
  const lookbackS = seconds('reconcile.lookback', lookback, Math.min(RECONCILE_DEFAULTS.lookback, ttlSeconds), 365 * 24 * 60 * 60)
  if (lookbackS > ttlSeconds) {
    throw invalid('reconcile.lookback', `must be at most ttl (${ttlSeconds} s): a state change processed longer ago than ttl is forgotten and would run again, got ${lookbackS}`)
  }
  return Object.freeze({
    apiKey,
    appIds: Object.freeze([...new Set(appIds as string[])]),
    baseUrl: (baseUrl as string | undefined) ?? DEFAULT_SUPERAI_BASE_URL,
    intervalMs: seconds('reconcile.interval', interval, RECONCILE_DEFAULTS.interval, 24 * 60 * 60) * 1000,
    lookbackMs: lookbackS * 1000
  })
}
