import { integerOption, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'

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

/** BullMQ builds its keys as `<prefix>:<name>:...`, so a name may not hold ":" (a prefix may). */
function name (option: string, value: unknown, fallback: string, colon: boolean): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value.length === 0 || value.length > 128 || (!colon && value.includes(':'))) {
    throw invalid(option, `expected a non-empty string of at most 128 characters${colon ? '' : ' without ":"'}`)
  }
  return value
}

const QUEUE_OPTIONS = optionNames<SuperaiQueueOptions>({ name: true, prefix: true, concurrency: true, attempts: true, backoff: true })
const BACKOFF_OPTIONS = optionNames<ResolvedQueueOptions['backoff']>({ type: true, delay: true })

/** Validates `queue` once, at register time; undefined when queue mode is off. */
export function resolveQueueOptions (value: unknown): ResolvedQueueOptions | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return QUEUE_DEFAULTS
  const { name: queueName, prefix, concurrency, attempts, backoff } = plainObject('queue', value, 'true or { name?, prefix?, concurrency?, attempts?, backoff? }')
  rejectUnknown(value as object, QUEUE_OPTIONS, 'queue.')
  return Object.freeze({
    name: name('queue.name', queueName, QUEUE_DEFAULTS.name, false),
    prefix: name('queue.prefix', prefix, QUEUE_DEFAULTS.prefix, true),
    concurrency: integerOption('queue.concurrency', concurrency, QUEUE_DEFAULTS.concurrency, 0, 1000),
    attempts: integerOption('queue.attempts', attempts, QUEUE_DEFAULTS.attempts, 1, 1000),
    backoff: resolveBackoff(backoff)
  })
}

function resolveBackoff (value: unknown): ResolvedQueueOptions['backoff'] {
  if (value === undefined) return QUEUE_DEFAULTS.backoff
  const { type, delay } = plainObject('queue.backoff', value, "{ type: 'exponential' | 'fixed', delay }")
  rejectUnknown(value as object, BACKOFF_OPTIONS, 'queue.backoff.')
  if (type !== 'exponential' && type !== 'fixed') throw invalid('queue.backoff.type', 'expected "exponential" or "fixed"')
  return Object.freeze({ type, delay: integerOption('queue.backoff.delay', delay, QUEUE_DEFAULTS.backoff.delay, 0, 24 * 60 * 60 * 1000) })
}

/**
 * Whether every key starting with `prefix` hashes to one Cluster slot: Redis hashes only the part between
 * the first "{" and the first "}" after it, when that part is not empty.
 */
export function hasHashTag (prefix: string): boolean {
  const open = prefix.indexOf('{')
  if (open === -1) return false
  const close = prefix.indexOf('}', open + 1)
  return close > open + 1
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
