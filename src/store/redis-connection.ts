import { Redis, type Cluster, type RedisOptions } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { codes } from '../errors.js'

/**
 * Defaults for a client the plugin creates: a command fails at once while Redis is unreachable (the
 * route answers 503 and super.AI retries) instead of waiting in ioredis' offline queue, and commands
 * issued in the same tick share one round trip.
 */
export const CLIENT_DEFAULTS: Readonly<RedisOptions> = Object.freeze({
  enableAutoPipelining: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: 5000
})

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
  let lastError: Error | undefined
  const remember = (err: Error): void => { lastError = err }
  client.on('error', remember)
  try {
    await client.connect()
  } catch (err) {
    client.disconnect()
    const reason = (lastError ?? err as Error).message
    throw new codes.FST_SUPERAI_INVALID_OPTION('redis', `could not connect to Redis: ${reason}`)
  } finally {
    client.off('error', remember)
  }
  const unwatch = watch(client, log)
  return {
    client,
    close: async () => {
      unwatch()
      // no listener is left, so a failing QUIT must not surface as an unhandled error event
      client.on('error', () => {})
      await client.quit().catch(() => { client.disconnect() })
    }
  }
}
