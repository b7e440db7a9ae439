import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { invalid } from '../validate.js'
import type { RedisClusterConfig, RedisSentinelOptions } from './redis-config.js'
import { CONNECT_TIMEOUT_MS, clientSettings, clusterSettings } from './redis-defaults.js'

/** A Redis client and who owns it: the plugin closes only the clients it created. */
export interface RedisConnection {
  readonly client: Redis | Cluster
  /** Quits the client when the plugin created it; only detaches the plugin's listeners otherwise. */
  close (): Promise<void>
}

/** Ends a client for good: QUIT once its replies are in, then disconnect for what QUIT leaves running. */
export async function quitRedis (client: Redis | Cluster): Promise<void> {
  await client.quit().catch(() => {})
  // QUIT ends the connection but not a Sentinel failover detector's subscriptions; disconnect() does
  client.disconnect()
}

/**
 * Logs Redis trouble through the app's logger, once per outage rather than once per reconnect attempt;
 * a listener also keeps ioredis from printing "Unhandled error event".
 */
function logOutages (client: Redis | Cluster, log: FastifyBaseLogger): () => void {
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
  const unwatch = logOutages(client, log)
  return { client, close: async () => { unwatch() } }
}

/** A client of ours: connected before `register` resolves, so a bad URL fails at boot, not on a callback. */
export async function connectRedis (url: string | undefined, options: RedisOptions, log: FastifyBaseLogger): Promise<RedisConnection> {
  const settings = clientSettings(options)
  const client = url === undefined ? new Redis(settings) : new Redis(url, settings)
  return await connectOwned(client, settings.connectTimeout ?? CONNECT_TIMEOUT_MS, log)
}

/** A Cluster client of ours, ready (slots known) before `register` resolves. */
export async function connectRedisCluster (config: RedisClusterConfig, log: FastifyBaseLogger): Promise<RedisConnection> {
  const settings = clusterSettings(config.options)
  const client = new Cluster(config.cluster.map(({ host, port }) => ({ host, port })), settings)
  const timeoutMs = (settings.redisOptions?.connectTimeout ?? CONNECT_TIMEOUT_MS) + (settings.slotsRefreshTimeout ?? 0)
  return await connectOwned(client, timeoutMs, log)
}

/** A Sentinel-managed client of ours: connected to the master the sentinels name, before `register` resolves. */
export async function connectRedisSentinel (options: RedisSentinelOptions, log: FastifyBaseLogger): Promise<RedisConnection> {
  const settings = clientSettings(options, true)
  const client = new Redis(settings)
  return await connectOwned(client, settings.connectTimeout ?? CONNECT_TIMEOUT_MS, log)
}

/** Connects a client of ours within its connect timeout, or disconnects it and fails naming `redis`. */
async function connectOwned (client: Redis | Cluster, timeoutMs: number, log: FastifyBaseLogger): Promise<RedisConnection> {
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
    throw invalid('redis', `could not connect to Redis: ${reason}`)
  } finally {
    clearTimeout(timer)
    client.off('error', remember)
    client.off('node error', remember)
  }
  const unwatch = logOutages(client, log)
  return {
    client,
    close: async () => {
      unwatch()
      client.on('error', () => {})
      await quitRedis(client)
    }
  }
}
