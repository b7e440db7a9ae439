/**
 * Contender 4: `@aws-lambda-powertools/idempotency` (`makeIdempotent`) wrapping the handler, with its
 * Redis persistence layer (`CachePersistenceLayer`) over an ioredis client. The whole body is hashed (its
 * default), records live as long as the plugin's ttl, and a Lambda-like context gives in-flight records
 * the plugin's lease (without one, Powertools warns on every call and never expires an in-flight record).
 */
import { Redis } from 'ioredis'
import { IdempotencyAlreadyInProgressError, IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency'
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache'
import type { CacheClient } from '@aws-lambda-powertools/idempotency/cache/types'
import { LEASE_SECONDS, PATH, PREFIX, REDIS_URL, ROUTE_SCHEMA, TTL_SECONDS, createApp, handleCallback, serve, type Body } from './common.js'

const redis = new Redis(REDIS_URL)

/** Powertools speaks the node-redis/Valkey-GLIDE shape: `set(key, value, { EX, NX })`, `del([keys])`. */
const client: CacheClient = {
  get: async (key) => await redis.get(key),
  set: async (key, value, options) => {
    const { EX, NX } = (options ?? {}) as { EX?: number, NX?: boolean }
    const name = String(key)
    const text = String(value)
    if (EX === undefined) return await redis.set(name, text)
    return NX === true ? await redis.set(name, text, 'EX', EX, 'NX') : await redis.set(name, text, 'EX', EX)
  },
  del: async (keys) => await redis.del(...keys)
}

const config = new IdempotencyConfig({
  expiresAfterSeconds: TTL_SECONDS,
  // a repeat returns the stored reply; tell it apart the way the other contenders do
  responseHook: (response) => ({ ...(response as { ok: true }), duplicate: true })
})
config.registerLambdaContext({ getRemainingTimeInMillis: () => LEASE_SECONDS * 1000 } as unknown as Parameters<IdempotencyConfig['registerLambdaContext']>[0])

const processCallback = makeIdempotent(async (body: Body) => {
  handleCallback(body)
  return { ok: true, duplicate: false }
}, { persistenceStore: new CachePersistenceLayer({ client }), config, keyPrefix: `${PREFIX}pt` })

const app = createApp()
app.post<{ Body: Body }>(PATH, { schema: ROUTE_SCHEMA }, async (request, reply) => {
  try {
    return await processCallback(request.body)
  } catch (err) {
    if (!(err instanceof IdempotencyAlreadyInProgressError)) throw err
    reply.code(409).header('retry-after', '1')
    return { statusCode: 409, code: 'IN_PROGRESS', error: 'Conflict', message: 'in progress' }
  }
})
await serve(app, async () => { await redis.quit() })
