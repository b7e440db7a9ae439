import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'
import { describe, firstUnknown, invalid, optionNames, plainObject } from '../validate.js'

/** A Redis Cluster to connect to: some of its nodes (the rest are discovered) and ioredis Cluster options. */
export interface RedisClusterConfig {
  readonly cluster: ReadonlyArray<{ readonly host: string, readonly port: number }>
  readonly options?: ClusterOptions
}

/** Sentinel options ioredis takes: the sentinels to ask and the name of the master they watch. */
export type RedisSentinelOptions = RedisOptions & {
  readonly sentinels: NonNullable<RedisOptions['sentinels']>
  readonly name: string
}

/** What the `redis` option takes. */
export type RedisOption = string | RedisOptions | RedisClusterConfig | Redis | Cluster

/** The Redis a `redis` option names; a client is created (and owned) only when the store is opened. */
export type RedisChoice =
  | { readonly kind: 'redis-client', readonly client: Redis | Cluster }
  | { readonly kind: 'redis-config', readonly url: string | undefined, readonly options: RedisOptions }
  | { readonly kind: 'redis-sentinel', readonly options: RedisSentinelOptions }
  | { readonly kind: 'redis-cluster', readonly config: RedisClusterConfig }

/** A connected client, told apart from an options object by the methods only a client has. */
function isRedisClient (value: unknown): value is Redis | Cluster {
  return typeof value === 'object' && value !== null &&
    typeof (value as { defineCommand?: unknown }).defineCommand === 'function' &&
    typeof (value as { quit?: unknown }).quit === 'function'
}

/** Parses the `redis` option: a client, a URL, a Cluster or Sentinel configuration, or ioredis options. */
export function resolveRedis (redis: unknown): RedisChoice {
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

const CLUSTER_CONFIG = optionNames<RedisClusterConfig>({ cluster: true, options: true })

const isPort = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 65535

function resolveCluster (redis: { cluster: unknown, options?: unknown }): RedisClusterConfig {
  const unknown = firstUnknown(redis, CLUSTER_CONFIG)
  if (unknown !== undefined) throw invalid('redis', `a Cluster configuration takes "cluster" and "options", not "${unknown}"`)
  const { cluster, options } = redis
  if (!Array.isArray(cluster) || cluster.length === 0) throw invalid('redis', 'expected "cluster" to be a non-empty array of { host, port }')
  const nodes = cluster.map((node: unknown) => {
    const { host, port } = (typeof node === 'object' && node !== null ? node : {}) as { host?: unknown, port?: unknown }
    if (typeof host !== 'string' || host === '' || !isPort(port)) {
      throw invalid('redis', `expected each Cluster node as { host, port }, got ${describe(node)}`)
    }
    return Object.freeze({ host, port })
  })
  const clusterOptions = options === undefined ? undefined : plainObject('redis', options, 'the Cluster "options" to be ioredis ClusterOptions')
  return Object.freeze({ cluster: Object.freeze(nodes), ...(clusterOptions === undefined ? {} : { options: { ...clusterOptions } }) })
}

function resolveSentinel (redis: RedisOptions): RedisSentinelOptions {
  const { sentinels, name } = redis
  if (!Array.isArray(sentinels) || sentinels.length === 0) throw invalid('redis', 'expected "sentinels" to be a non-empty array of { host, port }')
  if (typeof name !== 'string' || name === '') throw invalid('redis', 'expected "name": the master name the sentinels monitor')
  return { ...redis, sentinels, name }
}
