import type { FastifyContextConfig } from 'fastify'
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { buildAllowList, hashSecrets, type Guard, type SecretLocation } from './receiver/authenticate.js'
import { codes } from './errors.js'
import { defaultIdempotencyKey } from './delivery/idempotency-key.js'
import type { SuperaiEvent } from './schema.js'
import type { IdempotencyStore } from './store/store.js'
import type { VerifyOptions } from './delivery/verify.js'
import type { RedisClusterConfig, RedisSentinelOptions } from './store/connection.js'
import { resolveQueueOptions, type ResolvedQueueOptions, type SuperaiQueueOptions } from './queue/options.js'

/** Every option, each on its own; `SuperaiCallbacksOptions` adds which ones exclude each other. */
export interface SuperaiCallbacksOptionFields {
  /** Route path of the callback endpoint; starts and ends with '/' (super.AI requires the trailing one). */
  readonly path?: string
  /**
   * Redis URL, ioredis options (Sentinel: `{ sentinels, name }`), a Cluster (`{ cluster: [{ host, port }], options? }`),
   * or a connected ioredis `Redis`/`Cluster` (used as given and left open on close).
   */
  readonly redis?: string | RedisOptions | RedisClusterConfig | Redis | Cluster
  /** A store of your own; excludes `redis`. Neither given: an in-memory store for one process. */
  readonly store?: IdempotencyStore
  /** Start of every key the plugin writes. */
  readonly keyPrefix?: string
  /** Seconds a processed callback is remembered (the dedupe window). */
  readonly ttl?: number
  /** Seconds an in-flight delivery holds its claim before another delivery may take over. */
  readonly lease?: number
  /** Largest accepted body in bytes. */
  readonly bodyLimit?: number
  /** Key of one delivery; by default the job uuid and a digest of the canonical body. */
  readonly idempotencyKey?: (event: SuperaiEvent) => string
  /** What to do with a state or action the documents do not list: dispatch it to `callback` only, or answer 400. */
  readonly unknownValues?: 'accept' | 'reject'
  /**
   * Accept only callbacks that present this token (16+ URL-safe characters). Several: all are accepted,
   * the first is the one `callbackUrl()` hands out (rotation).
   */
  readonly secret?: string | readonly string[]
  /** Where the token travels: the last path segment (default), the `x-superai-token` header, or `?token=`. */
  readonly secretIn?: SecretLocation
  /** Accept callbacks only from these addresses or CIDRs (Fastify's `trustProxy` decides `request.ip`). */
  readonly allowFrom?: readonly string[]
  /** Fetch each callback's job from the super.AI API and dispatch only when it exists in that state. */
  readonly verify?: VerifyOptions
  /**
   * Fastify route `config` of the callback route, read by other plugins (e.g. `{ rateLimit: {...} }`); typed as
   * Fastify's `FastifyContextConfig`, so what those plugins declare into it is checked here too.
   */
  readonly routeConfig?: FastifyContextConfig
  /** Queue mode (needs `redis` and the `bullmq` package): store each callback in BullMQ, answer 202, run the handlers in workers. */
  readonly queue?: true | SuperaiQueueOptions
}

/** The options of `register`: `redis` or `store` (or neither), and `secretIn` only with `secret`. */
export type SuperaiCallbacksOptions = SuperaiCallbacksOptionFields &
  ({ readonly store?: never } | { readonly redis?: never }) &
  ({ readonly secret: string | readonly string[] } | { readonly secretIn?: never })

/** How the store is obtained; the Redis client is created (and owned) only at register time. */
export type StoreChoice =
  | { readonly kind: 'memory' }
  | { readonly kind: 'custom', readonly store: IdempotencyStore }
  | { readonly kind: 'redis-client', readonly client: Redis | Cluster }
  | { readonly kind: 'redis-config', readonly url: string | undefined, readonly options: RedisOptions }
  | { readonly kind: 'redis-sentinel', readonly options: RedisSentinelOptions }
  | { readonly kind: 'redis-cluster', readonly config: RedisClusterConfig }

export interface ResolvedOptions {
  readonly path: string
  readonly store: StoreChoice
  readonly keyPrefix: string
  readonly ttlMs: number
  readonly leaseMs: number
  readonly bodyLimit: number
  readonly idempotencyKey: (event: SuperaiEvent) => string
  readonly unknownValues: 'accept' | 'reject'
  /** The checks run before the body is read. */
  readonly guard: Guard
  /** The token `callbackUrl()` puts in the URL (the first secret). */
  readonly callbackToken: string | undefined
  readonly verify: Readonly<VerifyOptions> | undefined
  readonly routeConfig: Readonly<FastifyContextConfig>
  /** Queue mode's settings; undefined in synchronous mode. */
  readonly queue: ResolvedQueueOptions | undefined
}

export const DEFAULTS = Object.freeze({
  path: '/superai/callbacks/',
  keyPrefix: 'superai:callbacks:',
  ttl: 7 * 24 * 60 * 60,
  lease: 60,
  bodyLimit: 1024 * 1024,
  unknownValues: 'accept',
  secretIn: 'path'
} as const)

// `satisfies` fails the build when an option is missing here or listed here but not declared
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(Object.keys({
  path: true, redis: true, store: true, keyPrefix: true, ttl: true, lease: true, bodyLimit: true, idempotencyKey: true, unknownValues: true,
  secret: true, secretIn: true, allowFrom: true, verify: true, routeConfig: true, queue: true
} satisfies Record<keyof SuperaiCallbacksOptionFields, true>))

/** Set by Fastify's `register` itself, not by us. */
const FASTIFY_REGISTER_OPTIONS: ReadonlySet<string> = new Set(['prefix', 'logLevel', 'logSerializers'])

const invalid = (option: string, reason: string): Error => new codes.FST_SUPERAI_INVALID_OPTION(option, reason)

/** A connected client, told apart from an options object by the methods only a client has. */
export function isRedisClient (value: unknown): value is Redis | Cluster {
  return typeof value === 'object' && value !== null &&
    typeof (value as { defineCommand?: unknown }).defineCommand === 'function' &&
    typeof (value as { quit?: unknown }).quit === 'function'
}

function positiveInteger (option: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(option, `expected an integer from 1 to ${max}, got ${describe(value)}`)
  }
  return value
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value)
}

function resolvePath (value: unknown): string {
  if (value === undefined) return DEFAULTS.path
  if (typeof value !== 'string' || !/^\/(?:[A-Za-z0-9._~-]+\/)*$/.test(value)) {
    throw invalid('path', `expected a path of plain segments that starts and ends with "/", such as "${DEFAULTS.path}", got ${describe(value)}`)
  }
  return value
}

function resolveStore (redis: unknown, store: unknown): StoreChoice {
  if (redis !== undefined && store !== undefined) throw invalid('store', 'give either "store" or "redis", not both')
  if (store !== undefined) {
    const candidate = store as Partial<Record<keyof IdempotencyStore, unknown>> | null
    if (typeof candidate !== 'object' || candidate === null ||
      typeof candidate.claim !== 'function' || typeof candidate.complete !== 'function' || typeof candidate.release !== 'function') {
      throw invalid('store', 'expected an object with claim, complete and release methods')
    }
    return { kind: 'custom', store: store as IdempotencyStore }
  }
  if (redis === undefined) return { kind: 'memory' }
  if (isRedisClient(redis)) return { kind: 'redis-client', client: redis }
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\//.test(redis)) throw invalid('redis', 'expected a redis:// or rediss:// URL')
    return { kind: 'redis-config', url: redis, options: {} }
  }
  if (typeof redis === 'object' && redis !== null && !Array.isArray(redis)) {
    if ('cluster' in redis) return { kind: 'redis-cluster', config: resolveCluster(redis) }
    if ('sentinels' in redis) return { kind: 'redis-sentinel', options: resolveSentinel(redis as RedisOptions) }
    return { kind: 'redis-config', url: undefined, options: { ...(redis as RedisOptions) } }
  }
  throw invalid('redis', `expected a URL, ioredis options or an ioredis client, got ${describe(redis)}`)
}

const isPort = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 65535

function resolveCluster (redis: { cluster: unknown, options?: unknown }): RedisClusterConfig {
  const { cluster, options, ...rest } = redis
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw invalid('redis', `a Cluster configuration takes "cluster" and "options", not "${unknown}"`)
  if (!Array.isArray(cluster) || cluster.length === 0) throw invalid('redis', 'expected "cluster" to be a non-empty array of { host, port }')
  const nodes = cluster.map((node: unknown) => {
    const { host, port } = (typeof node === 'object' && node !== null ? node : {}) as { host?: unknown, port?: unknown }
    if (typeof host !== 'string' || host === '' || !isPort(port)) {
      throw invalid('redis', `expected each Cluster node as { host, port }, got ${describe(node)}`)
    }
    return Object.freeze({ host, port })
  })
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw invalid('redis', 'expected the Cluster "options" to be ioredis ClusterOptions')
  }
  return Object.freeze({ cluster: Object.freeze(nodes), ...(options === undefined ? {} : { options: { ...options } }) })
}

function resolveSentinel (redis: RedisOptions): RedisSentinelOptions {
  const { sentinels, name } = redis
  if (!Array.isArray(sentinels) || sentinels.length === 0) throw invalid('redis', 'expected "sentinels" to be a non-empty array of { host, port }')
  if (typeof name !== 'string' || name === '') throw invalid('redis', 'expected "name": the master name the sentinels monitor')
  return { ...redis, sentinels, name }
}

function resolveSecrets (value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined
  const secrets: unknown[] = Array.isArray(value) ? value : [value]
  if (secrets.length === 0) throw invalid('secret', 'expected at least one secret')
  for (const secret of secrets) {
    if (typeof secret !== 'string' || !/^[A-Za-z0-9._~-]{16,256}$/.test(secret)) {
      throw invalid('secret', 'each secret must be 16 to 256 URL-safe characters (A-Z a-z 0-9 . _ ~ -)')
    }
  }
  return Object.freeze(secrets as string[])
}

function resolveSecretIn (value: unknown): SecretLocation {
  if (value === undefined) return DEFAULTS.secretIn
  if (value !== 'path' && value !== 'header' && value !== 'query') throw invalid('secretIn', 'expected "path", "header" or "query"')
  return value
}

function resolveAllowFrom (value: unknown): Guard['allowList'] {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0 || !value.every((entry) => typeof entry === 'string')) {
    throw invalid('allowFrom', 'expected a non-empty array of IP addresses or CIDRs')
  }
  try {
    return buildAllowList(value)
  } catch (err) {
    throw invalid('allowFrom', (err as Error).message)
  }
}

function resolveVerify (value: unknown): Readonly<VerifyOptions> | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) throw invalid('verify', 'expected { apiKey, baseUrl?, timeout? }')
  const { apiKey, baseUrl, timeout, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw invalid(`verify.${unknown}`, 'unknown option')
  if (typeof apiKey !== 'string' || apiKey.trim() === '') throw invalid('verify.apiKey', 'expected a non-empty string')
  if (baseUrl !== undefined && (typeof baseUrl !== 'string' || !/^https?:\/\/[^/]/.test(baseUrl) || !URL.canParse(baseUrl))) {
    throw invalid('verify.baseUrl', 'expected an absolute http(s) URL')
  }
  const verify: VerifyOptions = {
    apiKey,
    timeout: positiveInteger('verify.timeout', timeout, 5000, 60_000),
    ...(baseUrl === undefined ? {} : { baseUrl: baseUrl as string })
  }
  return Object.freeze(verify)
}

function resolveRouteConfig (value: unknown): Readonly<FastifyContextConfig> {
  if (value === undefined) return Object.freeze({})
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('routeConfig', 'expected an object')
  return Object.freeze({ ...value } as FastifyContextConfig)
}

/** Validates the caller's options once, at register time, and returns a frozen copy; `raw` is not touched. */
export function resolveOptions (raw: SuperaiCallbacksOptions = {}): ResolvedOptions {
  if (typeof raw !== 'object' || raw === null) throw invalid('options', 'expected an object')
  for (const name of Object.keys(raw)) {
    if (!KNOWN_OPTIONS.has(name) && !FASTIFY_REGISTER_OPTIONS.has(name)) throw invalid(name, 'unknown option')
  }

  const keyPrefix = raw.keyPrefix ?? DEFAULTS.keyPrefix
  if (typeof keyPrefix !== 'string' || keyPrefix.length > 128) throw invalid('keyPrefix', 'expected a string of at most 128 characters')

  const ttl = positiveInteger('ttl', raw.ttl, DEFAULTS.ttl, 365 * 24 * 60 * 60)
  const lease = positiveInteger('lease', raw.lease, DEFAULTS.lease, 24 * 60 * 60)
  if (lease >= ttl) throw invalid('lease', `must be shorter than ttl (${ttl} s), got ${lease}`)

  const idempotencyKey = raw.idempotencyKey ?? defaultIdempotencyKey
  if (typeof idempotencyKey !== 'function') throw invalid('idempotencyKey', 'expected a function (event) => string')

  const unknownValues = raw.unknownValues ?? DEFAULTS.unknownValues
  if (unknownValues !== 'accept' && unknownValues !== 'reject') throw invalid('unknownValues', 'expected "accept" or "reject"')

  const secrets = resolveSecrets(raw.secret)
  const secretIn = resolveSecretIn(raw.secretIn)
  if (raw.secretIn !== undefined && secrets === undefined) throw invalid('secretIn', 'has no effect without "secret"')

  const store = resolveStore(raw.redis, raw.store)
  const queue = resolveQueueOptions(raw.queue)
  if (queue !== undefined && (store.kind === 'memory' || store.kind === 'custom')) {
    throw invalid('queue', 'queue mode stores callbacks in Redis: give the "redis" option too')
  }

  return Object.freeze({
    path: resolvePath(raw.path),
    store: Object.freeze(store),
    keyPrefix,
    ttlMs: ttl * 1000,
    leaseMs: lease * 1000,
    bodyLimit: positiveInteger('bodyLimit', raw.bodyLimit, DEFAULTS.bodyLimit, 64 * 1024 * 1024),
    idempotencyKey,
    unknownValues,
    guard: Object.freeze({ allowList: resolveAllowFrom(raw.allowFrom), secrets: secrets && hashSecrets(secrets), secretIn }),
    callbackToken: secrets?.[0],
    verify: resolveVerify(raw.verify),
    routeConfig: resolveRouteConfig(raw.routeConfig),
    queue
  })
}
