import type { FastifyContextConfig } from 'fastify'
import { buildAllowList, hashSecrets, type Guard, type SecretLocation } from './receiver/authenticate.js'
import { defaultIdempotencyKey } from './delivery/idempotency-key.js'
import type { SuperaiEvent } from './schema.js'
import { isMarkingStore, type IdempotencyStore } from './store/store.js'
import { VERIFY_TIMEOUT_MS, type VerifyOptions } from './delivery/api-check.js'
import { isRedisChoice, resolveStoreChoice } from './store/open-store.js'
import type { RedisOption } from './store/redis-config.js'
import { resolveQueueOptions, type SuperaiQueueOptions } from './queue/options.js'
import { appIdsOption, describe, integerOption, invalid, optionNames, plainObject, rejectUnknown } from './validate.js'
import { resolveReconcileOptions, type SuperaiReconcileOptions } from './reconcile/options.js'
import { resolveSignatureOptions, type SignatureOptions } from './signature/options.js'
import { credentialsFor, resolveApiOptions, type ResolvedApiOptions, type SuperaiApiOptions } from './client/api-option.js'

/** Every option, each on its own; `SuperaiCallbacksOptions` adds which ones exclude each other. */
export interface SuperaiCallbacksOptionFields {
  /** Route path of the callback endpoint; starts and ends with '/' (super.AI requires the trailing one). */
  readonly path?: string
  /**
   * Redis URL, ioredis options (Sentinel: `{ sentinels, name }`), a Cluster (`{ cluster: [{ host, port }], options? }`),
   * or a connected ioredis `Redis`/`Cluster` (used as given and left open on close).
   */
  readonly redis?: RedisOption
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
  /**
   * Key of one job callback; by default the job uuid and state for a state change (RESOLVED), the uuid and a
   * digest of the canonical body otherwise. Also called for reconciled events (`reconciled: true`). v2 (batch)
   * callbacks are keyed by their entity type, entity id and state, whatever this option says.
   */
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
  /**
   * Fetch each callback's job from the super.AI API and dispatch only when it exists in that state or a later one; `true`
   * (or no `apiKey`) uses the `api` option's key.
   */
  readonly verify?: true | VerifyOptions
  /**
   * Fastify route `config` of the callback route, read by other plugins (e.g. `{ rateLimit: {...} }`); typed as
   * Fastify's `FastifyContextConfig`, so what those plugins declare into it is checked here too.
   */
  readonly routeConfig?: FastifyContextConfig
  /** Queue mode (needs `redis` and the `bullmq` package): store each callback in BullMQ, answer 202, run the handlers in workers. */
  readonly queue?: true | SuperaiQueueOptions
  /** Reconciliation: list the projects' jobs at super.AI every `interval` and run the state changes whose callback never arrived. */
  readonly reconcile?: SuperaiReconcileOptions
  /**
   * A state change whose job a later state already overtook (a late `COMPLETED` after `POST PROCESSED`):
   * `'dispatch'` runs the handlers with `context.superseded` true; `'skip'` answers 200 without running them.
   */
  readonly superseded?: 'dispatch' | 'skip'
  /** Signed callbacks: refuse (401) a callback whose `X-SuperAI-Webhook-Signature` no key verifies, after `allowFrom` and `secret` and before anything else happens to it. */
  readonly signature?: SignatureOptions
  /**
   * super.AI's API (`app.superai.api`, `context.output()`): the key `verify` and `reconcile` use when they
   * give none of their own.
   */
  readonly api?: SuperaiApiOptions
  /**
   * OpenTelemetry: a span per delivery, handler run, API call and reconciliation pass, and the deliveries'
   * metrics, through `@opentelemetry/api` (an optional peer dependency) and the SDK the app registers.
   */
  readonly telemetry?: boolean
}

/** The options of `register`: `redis` or `store` (or neither), and `secretIn` only with `secret`. */
export type SuperaiCallbacksOptions = SuperaiCallbacksOptionFields &
  ({ readonly store?: never } | { readonly redis?: never }) &
  ({ readonly secret: string | readonly string[] } | { readonly secretIn?: never })

/** The options as the plugin uses them: validated, defaulted, frozen (the type of `resolveOptions`' result). */
export type ResolvedOptions = ReturnType<typeof resolveOptions>

export const DEFAULTS = Object.freeze({
  path: '/superai/callbacks/',
  keyPrefix: 'superai:callbacks:',
  ttl: 7 * 24 * 60 * 60,
  lease: 60,
  bodyLimit: 1024 * 1024,
  unknownValues: 'accept',
  secretIn: 'path',
  superseded: 'dispatch'
} as const)

/** Every option name, once: the compiler fails the build when one is missing here or not declared. */
const OPTION_NAMES = optionNames<SuperaiCallbacksOptionFields>({
  path: true,
  redis: true,
  store: true,
  keyPrefix: true,
  ttl: true,
  lease: true,
  bodyLimit: true,
  idempotencyKey: true,
  unknownValues: true,
  secret: true,
  secretIn: true,
  allowFrom: true,
  verify: true,
  routeConfig: true,
  queue: true,
  reconcile: true,
  superseded: true,
  signature: true,
  api: true,
  telemetry: true
})

/** Ours, and those Fastify's `register` itself sets (`prefix`, `logLevel`, `logSerializers`). */
const REGISTER_OPTION_NAMES: ReadonlySet<string> = new Set([...OPTION_NAMES, 'prefix', 'logLevel', 'logSerializers'])

function resolvePath (value: unknown): string {
  if (value === undefined) return DEFAULTS.path
  if (typeof value !== 'string' || !/^\/(?:[A-Za-z0-9._~-]+\/)*$/.test(value)) {
    throw invalid('path', `expected a path of plain segments that starts and ends with "/", such as "${DEFAULTS.path}", got ${describe(value)}`)
  }
  return value
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

const VERIFY_OPTIONS = optionNames<VerifyOptions>({ apiKey: true, baseUrl: true, timeout: true, appIds: true })

function resolveVerify (value: unknown, api: ResolvedApiOptions | undefined): Readonly<VerifyOptions & { readonly apiKey: string, readonly timeout: number }> | undefined {
  if (value === undefined) return undefined
  const { apiKey, baseUrl, timeout, appIds } = value === true ? {} : plainObject('verify', value, 'true or { apiKey?, baseUrl?, timeout?, appIds? }')
  if (value !== true) rejectUnknown(value as object, VERIFY_OPTIONS, 'verify.')
  const credentials = credentialsFor('verify', apiKey, baseUrl, api)
  return Object.freeze({
    apiKey: credentials.apiKey,
    // its own timeout, not api's: a slow fetch is a 503 that super.AI retries, so it stays short
    timeout: integerOption('verify.timeout', timeout, VERIFY_TIMEOUT_MS, 1, 60_000),
    ...(credentials.baseUrl === undefined ? {} : { baseUrl: credentials.baseUrl }),
    ...(appIds === undefined ? {} : { appIds: appIdsOption('verify.appIds', appIds) })
  })
}

function resolveRouteConfig (value: unknown): Readonly<FastifyContextConfig> {
  if (value === undefined) return Object.freeze({})
  return Object.freeze({ ...plainObject('routeConfig', value, 'an object') } as FastifyContextConfig)
}

// the return type is inferred on purpose: it is `ResolvedOptions`, so an option is declared by resolving it
/** Validates the caller's options once, at register time, and returns a frozen copy; `raw` is not touched. */
export function resolveOptions (raw: SuperaiCallbacksOptions = {}) {
  plainObject('options', raw, 'an object')
  rejectUnknown(raw, REGISTER_OPTION_NAMES)

  const keyPrefix: unknown = raw.keyPrefix ?? DEFAULTS.keyPrefix
  if (typeof keyPrefix !== 'string' || keyPrefix.length > 128) throw invalid('keyPrefix', 'expected a string of at most 128 characters')

  const ttl = integerOption('ttl', raw.ttl, DEFAULTS.ttl, 1, 365 * 24 * 60 * 60)
  const lease = integerOption('lease', raw.lease, DEFAULTS.lease, 1, 24 * 60 * 60)
  if (lease >= ttl) throw invalid('lease', `must be shorter than ttl (${ttl} s), got ${lease}`)

  const idempotencyKey: unknown = raw.idempotencyKey ?? defaultIdempotencyKey
  if (typeof idempotencyKey !== 'function') throw invalid('idempotencyKey', 'expected a function (event) => string')

  const unknownValues: unknown = raw.unknownValues ?? DEFAULTS.unknownValues
  if (unknownValues !== 'accept' && unknownValues !== 'reject') throw invalid('unknownValues', 'expected "accept" or "reject"')

  const secrets = resolveSecrets(raw.secret)
  const secretIn = resolveSecretIn(raw.secretIn)
  if (raw.secretIn !== undefined && secrets === undefined) throw invalid('secretIn', 'has no effect without "secret"')

  const store = resolveStoreChoice(raw.redis, raw.store)
  const queue = resolveQueueOptions(raw.queue)
  if (queue !== undefined && !isRedisChoice(store)) {
    throw invalid('queue', 'queue mode stores callbacks in Redis: give the "redis" option too')
  }

  const superseded: unknown = raw.superseded ?? DEFAULTS.superseded
  if (superseded !== 'dispatch' && superseded !== 'skip') throw invalid('superseded', 'expected "dispatch" or "skip"')
  if (superseded === 'skip' && store.kind === 'custom' && !isMarkingStore(store.store)) {
    throw invalid('superseded', 'a job\'s states are remembered through the store\'s claimAndRead and completeAndMark, which this store lacks: nothing would ever be skipped')
  }

  const api = resolveApiOptions(raw.api)
  const telemetry: unknown = raw.telemetry ?? false
  if (typeof telemetry !== 'boolean') throw invalid('telemetry', `expected a boolean, got ${describe(telemetry)}`)
  const reconcile = resolveReconcileOptions(raw.reconcile, ttl, api)
  if (reconcile !== undefined && store.kind === 'custom' &&
    (typeof store.store.acquire !== 'function' || typeof store.store.read !== 'function' || typeof store.store.write !== 'function')) {
    throw invalid('reconcile', 'the store shares the schedule of passes through acquire, read and write, which this store lacks')
  }

  return Object.freeze({
    path: resolvePath(raw.path),
    store: Object.freeze(store),
    keyPrefix,
    ttlMs: ttl * 1000,
    leaseMs: lease * 1000,
    bodyLimit: integerOption('bodyLimit', raw.bodyLimit, DEFAULTS.bodyLimit, 1, 64 * 1024 * 1024),
    idempotencyKey: idempotencyKey as (event: SuperaiEvent) => string,
    unknownValues,
    superseded,
    /** The checks run before the body is read. */
    guard: Object.freeze({ allowList: resolveAllowFrom(raw.allowFrom), secrets: secrets && hashSecrets(secrets), secretIn }) as Guard,
    /** The token `callbackUrl()` puts in the URL (the first secret). */
    callbackToken: secrets?.[0],
    verify: resolveVerify(raw.verify, api),
    routeConfig: resolveRouteConfig(raw.routeConfig),
    /** Queue mode's settings; undefined in synchronous mode. */
    queue,
    /** Reconciliation's settings; undefined without the option. */
    reconcile,
    /** The `signature` option resolved to its verifier (the public keys, the header's rules); undefined without it. */
    signatureVerifier: resolveSignatureOptions(raw.signature),
    /** super.AI's API for `app.superai.api` and `context.output()`; undefined without the option. */
    api,
    /** Whether OpenTelemetry is on (`@opentelemetry/api` is loaded at assembly only then). */
    telemetry
  })
}
