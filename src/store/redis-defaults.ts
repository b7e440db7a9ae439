import type { ClusterOptions, RedisOptions } from 'ioredis'

/** Milliseconds a client of ours may take to connect before `register` fails naming `redis`. */
export const CONNECT_TIMEOUT_MS = 5000

/**
 * Defaults for a client the plugin creates: a command fails at once while Redis is unreachable (the
 * route answers 503 and super.AI retries) instead of waiting in ioredis' offline queue. No
 * auto-pipelining: it costs a pipeline and its promises per command, where the store already sends a
 * turn's operations as one script call.
 */
export const CLIENT_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  enableAutoPipelining: false,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: CONNECT_TIMEOUT_MS
})

/**
 * Sentinel additions to the client defaults: follow a failover as soon as the sentinels announce it
 * (`+switch-master`) rather than at the next failed reconnect, and bound each question to a sentinel.
 */
const SENTINEL_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  failoverDetector: true,
  sentinelCommandTimeout: 1000
})

/**
 * A Cluster the plugin creates fails as fast as a single client: no offline queue (a command while the
 * cluster is unreachable fails at once, answered 503), each node connection with the client defaults,
 * and bounded waits while slots move during a failover.
 */
export const CLUSTER_DEFAULTS: Readonly<ClusterOptions> = Object.freeze({
  enableOfflineQueue: false,
  enableAutoPipelining: CLIENT_DEFAULTS.enableAutoPipelining,
  maxRedirections: 16,
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  slotsRefreshTimeout: 1000,
  clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000)
})

/** The settings of a single or Sentinel client of ours: the defaults under the user's options. */
export function clientSettings (options: RedisOptions, sentinel = false): RedisOptions {
  return { ...CLIENT_DEFAULTS, ...(sentinel ? SENTINEL_DEFAULTS : {}), ...options, lazyConnect: true }
}

/** The settings of a Cluster client of ours: the defaults under the user's options, node options too. */
export function clusterSettings (options: ClusterOptions = {}): ClusterOptions {
  // a node keeps its offline queue: the Cluster's own is off, and a node is queued to only while it connects
  const { maxRetriesPerRequest, commandTimeout, connectTimeout } = CLIENT_DEFAULTS
  return {
    ...CLUSTER_DEFAULTS,
    ...options,
    redisOptions: { maxRetriesPerRequest, commandTimeout, connectTimeout, ...options.redisOptions },
    lazyConnect: true
  }
}
