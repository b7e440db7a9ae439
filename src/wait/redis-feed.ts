import type { FastifyBaseLogger } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import type { StateChangeFeed } from './job-waiters.js'

/**
 * The channel on which a processed state change of job `uuid` is published: one per job, so that Redis
 * sends each instance only the jobs its waiters wait for, and a publication nobody waits for costs Redis
 * one lookup. Under the plugin's `keyPrefix`, since pub/sub channels are shared by every database of a
 * server. The message is the state, in callback spelling (`COMPLETED`, `POST PROCESSED`).
 */
export const processedChannel = (keyPrefix: string, uuid: string): string => `${keyPrefix}processed:${uuid}`

export interface RedisStateFeedOptions {
  /** Opens the feed's own connection (subscribing takes a connection over): called at the first watch, once. */
  readonly open: () => Redis | Cluster
  readonly keyPrefix: string
  /** A state change of a watched job was published. */
  readonly notify: (uuid: string, state: string) => void
  /** The connection came back after an outage: what was published meanwhile is to be read from the store. */
  readonly recheck: () => void
  readonly log: FastifyBaseLogger
}

/**
 * A store client's second connection, for subscribing: a copy of its settings, with an offline queue so
 * that a subscription asked for while it connects (or reconnects) waits for it instead of failing.
 */
export function subscriberOf (client: Redis | Cluster): Redis | Cluster {
  // told apart by ioredis' own flag rather than instanceof, which fails across two copies of ioredis
  return client.isCluster
    ? (client as Cluster).duplicate(undefined, { enableOfflineQueue: true, lazyConnect: false })
    : (client as Redis).duplicate({ enableOfflineQueue: true, lazyConnect: false })
}

/**
 * Other instances' processed state changes over Redis pub/sub: one connection per process at most,
 * opened at the first watch and closed on `close()`; a job's channel is subscribed while it has waiters.
 * No polling: what was processed before a subscription is read from the store by the waiters.
 */
export class RedisStateFeed implements StateChangeFeed {
  readonly #options: RedisStateFeedOptions
  readonly #channelStart: string
  #client: Redis | Cluster | undefined
  #readyBefore = false
  #failing = false

  constructor (options: RedisStateFeedOptions) {
    this.#options = options
    this.#channelStart = processedChannel(options.keyPrefix, '')
  }

  async watch (uuid: string): Promise<void> {
    await this.#connection().subscribe(processedChannel(this.#options.keyPrefix, uuid))
  }

  unwatch (uuid: string): void {
    // the connection keeps the order of commands: a later watch of the job subscribes after this
    this.#client?.unsubscribe(processedChannel(this.#options.keyPrefix, uuid)).catch(() => {
      // a connection that is gone holds no subscription
    })
  }

  async close (): Promise<void> {
    const client = this.#client
    this.#client = undefined
    if (client === undefined || client.status === 'end') return
    // quit() answers before the socket closes: close() resolves once it has
    const ended = new Promise<void>((resolve) => { client.once('end', () => { resolve() }) })
    try {
      await client.quit()
    } catch {
      client.disconnect()
    }
    await ended
  }

  #connection (): Redis | Cluster {
    if (this.#client !== undefined) return this.#client
    const client = this.#options.open()
    client.on('message', (channel: string, message: string) => {
      if (channel.startsWith(this.#channelStart)) this.#options.notify(channel.slice(this.#channelStart.length), message)
    })
    client.on('ready', () => {
      if (this.#readyBefore) this.#options.recheck()
      this.#readyBefore = true
      this.#failing = false
    })
    client.on('error', (err: Error) => {
      // once per outage: ioredis reconnects on its own and resubscribes
      if (this.#failing) return
      this.#failing = true
      this.#options.log.warn({ err }, 'super.AI callbacks: waitFor\'s Redis subscription connection failed; reconnecting')
    })
    this.#client = client
    return client
  }
}
