import type { FastifyBaseLogger } from 'fastify'
import { invalid } from '../validate.js'
import { adoptRedis, connectRedis, connectRedisCluster, connectRedisSentinel, type RedisConnection } from './connection.js'
import { MemoryStore } from './memory.js'
import { resolveRedis, type RedisChoice } from './redis-config.js'
import { RedisStore } from './redis.js'
import type { IdempotencyStore } from './store.js'

/**
 * The store, chosen by strategy: a store of the user's, else Redis when given, else an in-memory one.
 * A Redis client is created (and owned) only when the store is opened.
 */
type StoreChoice =
  | { readonly kind: 'memory' }
  | { readonly kind: 'custom', readonly store: IdempotencyStore }
  | RedisChoice

/** Validates `redis` and `store` (either, not both) at register time. */
export function resolveStoreChoice (redis: unknown, store: unknown): StoreChoice {
  if (redis !== undefined && store !== undefined) throw invalid('store', 'give either "store" or "redis", not both')
  if (store !== undefined) {
    const candidate = store as Partial<Record<keyof IdempotencyStore, unknown>> | null
    if (typeof candidate !== 'object' || candidate === null ||
      typeof candidate.claim !== 'function' || typeof candidate.complete !== 'function' || typeof candidate.release !== 'function') {
      throw invalid('store', 'expected an object with claim, complete and release methods')
    }
    return { kind: 'custom', store: store as IdempotencyStore }
  }
  return redis === undefined ? { kind: 'memory' } : resolveRedis(redis)
}

/** Whether the store is a Redis (queue mode needs one for BullMQ). */
export const isRedisChoice = (choice: StoreChoice): choice is RedisChoice => choice.kind !== 'memory' && choice.kind !== 'custom'

/** The store the options chose; a Redis client is connected (and so checked) before this resolves. */
export async function openStore (log: FastifyBaseLogger, choice: StoreChoice): Promise<{ store: IdempotencyStore, connection?: RedisConnection }> {
  switch (choice.kind) {
    case 'memory': return { store: new MemoryStore() }
    case 'custom': return { store: choice.store }
    default: {
      const connection = await openRedis(log, choice)
      return { store: await RedisStore.create(connection.client), connection }
    }
  }
}

async function openRedis (log: FastifyBaseLogger, choice: RedisChoice): Promise<RedisConnection> {
  switch (choice.kind) {
    case 'redis-client': return adoptRedis(choice.client, log)
    case 'redis-config': return await connectRedis(choice.url, choice.options, log)
    case 'redis-sentinel': return await connectRedisSentinel(choice.options, log)
    case 'redis-cluster': return await connectRedisCluster(choice.config, log)
  }
}
