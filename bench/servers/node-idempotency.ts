/**
 * Contender 5: `@node-idempotency/core` with `@node-idempotency/storage-adapter-redis` (node-redis 4 inside).
 * super.AI sends no Idempotency-Key header, so the route derives one from the body, as a user would.
 */
import { Idempotency, IdempotencyError, IdempotencyErrorCodes } from '@node-idempotency/core'
import { RedisStorageAdapter } from '@node-idempotency/storage-adapter-redis'
import { PATH, PREFIX, REDIS_URL, ROUTE_SCHEMA, TTL_SECONDS, bodyKey, createApp, handleCallback, serve, type Body } from './common.js'

interface Reply { ok: true, duplicate: boolean }

const storage = new RedisStorageAdapter({ url: REDIS_URL })
await storage.connect()
const idempotency = new Idempotency(storage, { cacheKeyPrefix: `${PREFIX}ni`, cacheTTLMS: TTL_SECONDS * 1000 })

const app = createApp()
app.post<{ Body: Body }>(PATH, { schema: ROUTE_SCHEMA }, async (request, reply) => {
  const req = { headers: { 'idempotency-key': bodyKey(request.body) }, path: PATH, method: 'POST', body: request.body }
  let cached
  try {
    cached = await idempotency.onRequest<Reply, unknown>(req)
  } catch (err) {
    if (!(err instanceof IdempotencyError && err.code === IdempotencyErrorCodes.REQUEST_IN_PROGRESS)) throw err
    reply.code(409).header('retry-after', '1')
    return { statusCode: 409, code: 'IN_PROGRESS', error: 'Conflict', message: 'in progress' }
  }
  if (cached?.body !== undefined) return { ...cached.body, duplicate: true }
  handleCallback(request.body)
  const answer: Reply = { ok: true, duplicate: false }
  await idempotency.onResponse(req, { body: answer })
  return answer
})
await serve(app, async () => { await storage.disconnect() })
