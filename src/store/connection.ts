import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { codes } from '../errors.js'

/**
 * Defaults for a client the plugin creates: a command fails at once while Redis is unreachable (the
 * route answers 503 and super.AI retries) instead of waiting in ioredis' offline queue. No
 * auto-pipelining: it costs a pipeline and its promises per command; `batchWrites` shares the writes.
 */
export const CLIENT_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  enableAutoPipelining: false,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: 5000
})

/** Connections already batched, so that batching twice cannot cork twice. */
const batched = new WeakSet<Redis>()

function batchConnectionWrites (connection: Redis): void {
  if (batched.has(connection)) return
  batched.add(connection)
  const send = connection.sendCommand
  let corked: Redis['stream'] | undefined
  const uncork = (): void => {
    const socket = corked
    corked = undefined
    socket?.uncork()
  }
  connection.sendCommand = function (this: Redis, command, stream) {
    // only direct writes on a live socket; a pipeline's or the offline queue's commands take their own path
    if (corked === undefined && stream === undefined && this.status === 'ready') {
      corked = this.stream
      corked.cork()
      setImmediate(uncork)
    }
    return send.call(this, command, stream)
  }
}

/**
 * Commands written in one turn of the event loop leave in one socket write (one syscall, one TCP
 * segment) instead of one each: the first corks the socket, and `setImmediate` uncorks it once the
 * turn's I/O callbacks have run. A `process.nextTick` would only gather the commands of one callback,
 * and each request arrives in its own; measured, it saved nothing. What ioredis' auto-pipelining buys,
 * without its per-command pipeline. On a Cluster, every node connection, present and future.
 */
export function batchWrites (client: Redis | Cluster): void {
  if (!client.isCluster) {
    batchConnectionWrites(client as Redis)
    return
  }
  const cluster = client as Cluster
  for (const node of cluster.nodes()) batchConnectionWrites(node)
  cluster.on('+node', batchConnectionWrites)
}

export interface RedisConnection {
  readonly client: Redis | Cluster
  /** Quits the client when the plugin created it; only detaches the plugin's listeners otherwise. */
  close (): Promise<void>
}

/**
 * Logs Redis trouble through the app's logger, once per outage rather than once per reconnect attempt;
 * a listener also keeps ioredis from printing "Unhandled error event".
 */
function watch (client: Redis | Cluster, log: FastifyBaseLogger): () => void {
  let down = false
  const onError = (err: Error): void => {
    if (down) return
    down = true
    log.error({ err }, 'superai-callbacks: Redis error; callbacks are answered 503 until it is back')
  }
  const onReady = (): void => {
    if (!down) return
    down = false
    log.info('superai-callbacks: Redis connection ready again')
  }
  client.on('error', onError)
  client.on('ready', onReady)
  return () => {
    client.off('error', onError)
    client.off('ready', onReady)
  }
}

/** A client of the user's: used as it is and left open. */
export function adoptRedis (client: Redis | Cluster, log: FastifyBaseLogger): RedisConnection {
  const unwatch = watch(client, log)
  return { client, close: async () => { unwatch() } }
}

/** A client of ours: connected before `register` resolves, so a bad URL fails at boot, not on a callback. */
export async function connectRedis (url: string | undefined, options: RedisOptions, log: FastifyBaseLogger): Promise<RedisConnection> {
  const settings: RedisOptions = { ...CLIENT_DEFAULTS, ...options, lazyConnect: true }
  const client = url === undefined ? new Redis(settings) : new Redis(url, settings)
  return await connectOwned(client, settings.connectTimeout ?? 5000, log)
}

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

/**
 * Sentinel additions to the client defaults: follow a failover as soon as the sentinels announce it
 * (`+switch-master`) rather than at the next failed reconnect, and bound each question to a sentinel.
 */
export const SENTINEL_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
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

/** Whether `client` is an ioredis Cluster (e.g. for refusing BullMQ prefixes without a hash tag). */
export function isCluster (client: Redis | Cluster): client is Cluster {
  // both classes carry the flag, so this holds across two copies of ioredis where instanceof would not
  return client.isCluster
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

/**
 * Connects a client of ours within its connect timeout, or disconnects it and fails naming `redis`; its
 * writes are batched (auto-pipelining is off in every default).
 */
async function connectOwned (client: Redis | Cluster, timeoutMs: number, log: FastifyBaseLogger): Promise<RedisConnection> {
  batchWrites(client)
  let lastError: Error | undefined
  const remember = (err: Error): void => { lastError = err }
  client.on('error', remember)
  client.on('node error', remember)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      client.connect(),
      // a sentinel or cluster client keeps retrying inside connect(); register must not wait for ever
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`not ready within ${timeoutMs} ms`)) }, timeoutMs)
      })
    ])
  } catch (err) {
    client.on('error', () => {})
    client.disconnect()
    const reason = lastError === undefined ? (err as Error).message : `${(err as Error).message} (${lastError.message})`
    throw new codes.FST_SUPERAI_INVALID_OPTION('redis', `could not connect to Redis: ${reason}`)
  } finally {
    clearTimeout(timer)
    client.off('error', remember)
    client.off('node error', remember)
  }
  const unwatch = watch(client, log)
  return {
    client,
    close: async () => {
      unwatch()
      client.on('error', () => {})
      await client.quit().catch(() => {})
      // QUIT ends the connection but not a Sentinel failover detector's subscriptions; disconnect() does
      client.disconnect()
    }
  }
}

/** A Cluster client of ours, ready (slots known) before `register` resolves. */
export async function connectRedisCluster (config: RedisClusterConfig, log: FastifyBaseLogger): Promise<RedisConnection> {
  const settings = clusterSettings(config.options)
  const client = new Cluster(config.cluster.map(({ host, port }) => ({ host, port })), settings)
  const timeoutMs = (settings.redisOptions?.connectTimeout ?? 5000) + (settings.slotsRefreshTimeout ?? 1000)
  return await connectOwned(client, timeoutMs, log)
}

/** A Sentinel-managed client of ours: connected to the master the sentinels name, before `register` resolves. */
export async function connectRedisSentinel (options: RedisSentinelOptions, log: FastifyBaseLogger): Promise<RedisConnection> {
  const settings: RedisOptions = { ...CLIENT_DEFAULTS, ...SENTINEL_DEFAULTS, ...options, lazyConnect: true }
  const client = new Redis(settings)
  return await connectOwned(client, settings.connectTimeout ?? 5000, log)
}
