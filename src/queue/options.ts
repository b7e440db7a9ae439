import { codes } from '../errors.js'
import { hasHashTag } from '../store/connection.js'

/** The `queue` option: BullMQ settings of queue mode; `true` takes every default. */
export interface SuperaiQueueOptions {
  /** BullMQ queue name. Default `superai-callbacks`. */
  readonly name?: string
  /** BullMQ key prefix. Default `bull`; on a Redis Cluster it must hold a hash tag, such as `{superai}`. */
  readonly prefix?: string
  /** Jobs this process's worker runs at once. Default 10; 0: this process only enqueues. */
  readonly concurrency?: number
  /** Tries before a callback becomes a dead letter. Default 10. */
  readonly attempts?: number
  /** BullMQ's backoff between tries. Default `{ type: 'exponential', delay: 1000 }`. */
  readonly backoff?: { readonly type: 'exponential' | 'fixed', readonly delay: number }
}

export interface ResolvedQueueOptions {
  readonly name: string
  readonly prefix: string
  readonly concurrency: number
  readonly attempts: number
  readonly backoff: { readonly type: 'exponential' | 'fixed', readonly delay: number }
}

export const QUEUE_DEFAULTS: ResolvedQueueOptions = Object.freeze({
  name: 'superai-callbacks',
  prefix: 'bull',
  concurrency: 10,
  attempts: 10,
  backoff: Object.freeze({ type: 'exponential', delay: 1000 } as const)
})

const invalid = (option: string, reason: string): Error => new codes.FST_SUPERAI_INVALID_OPTION(option, reason)

function integer (option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(option, `expected an integer from ${min} to ${max}, got ${typeof value === 'number' ? value : typeof value}`)
  }
  return value
}

/** BullMQ builds its keys as `<prefix>:<name>:...`, so a name may not hold ":" (a prefix may). */
function name (option: string, value: unknown, fallback: string, colon: boolean): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value.length === 0 || value.length > 128 || (!colon && value.includes(':'))) {
    throw invalid(option, `expected a non-empty string of at most 128 characters${colon ? '' : ' without ":"'}`)
  }
  return value
}

/** Validates `queue` once, at register time; undefined when queue mode is off. */
export function resolveQueueOptions (value: unknown): ResolvedQueueOptions | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return QUEUE_DEFAULTS
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('queue', 'expected true or { name?, prefix?, concurrency?, attempts?, backoff? }')
  }
  const { name: queueName, prefix, concurrency, attempts, backoff, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw invalid(`queue.${unknown}`, 'unknown option')
  return Object.freeze({
    name: name('queue.name', queueName, QUEUE_DEFAULTS.name, false),
    prefix: name('queue.prefix', prefix, QUEUE_DEFAULTS.prefix, true),
    concurrency: integer('queue.concurrency', concurrency, QUEUE_DEFAULTS.concurrency, 0, 1000),
    attempts: integer('queue.attempts', attempts, QUEUE_DEFAULTS.attempts, 1, 1000),
    backoff: resolveBackoff(backoff)
  })
}

function resolveBackoff (value: unknown): ResolvedQueueOptions['backoff'] {
  if (value === undefined) return QUEUE_DEFAULTS.backoff
  if (typeof value !== 'object' || value === null) throw invalid('queue.backoff', "expected { type: 'exponential' | 'fixed', delay }")
  const { type, delay, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw invalid(`queue.backoff.${unknown}`, 'unknown option')
  if (type !== 'exponential' && type !== 'fixed') throw invalid('queue.backoff.type', 'expected "exponential" or "fixed"')
  return Object.freeze({ type, delay: integer('queue.backoff.delay', delay, 1000, 0, 24 * 60 * 60 * 1000) })
}

/**
 * On a Redis Cluster every key of a BullMQ queue must hash to one slot, which only a hash tag in the
 * prefix (`{superai}`) guarantees; BullMQ's scripts fail with CROSSSLOT otherwise.
 */
export function checkClusterPrefix (prefix: string, client: { readonly isCluster?: boolean }): void {
  if (client.isCluster === true && !hasHashTag(prefix)) {
    throw invalid('queue.prefix', `on a Redis Cluster the prefix must hold a hash tag, such as "{${prefix}}", got "${prefix}"`)
  }
}
