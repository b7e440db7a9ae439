/**
 * A second hand-written route, more careful than most: the `SET key 1 EX ttl NX` of `handwritten.ts`, keyed
 * by the uuid and a SHA-256 of the whole body (`bodyKey`), and the plugin's body and response schemas. One round trip per delivery; no in-flight state, so a
 * redelivery that arrives while the first is still being handled is answered "duplicate" even if that
 * first one then fails.
 */
import { Redis } from 'ioredis'
import { PATH, PREFIX, REDIS_URL, ROUTE_SCHEMA, TTL_SECONDS, bodyKey, createApp, handleCallback, serve, type Body } from './common.js'

const redis = new Redis(REDIS_URL)
const app = createApp()
app.post<{ Body: Body }>(PATH, { schema: ROUTE_SCHEMA }, async (request) => {
  const key = PREFIX + bodyKey(request.body)
  const fresh = await redis.set(key, '1', 'EX', TTL_SECONDS, 'NX')
  if (fresh === null) return { ok: true, duplicate: true }
  try {
    handleCallback(request.body)
  } catch (err) {
    await redis.del(key)
    throw err
  }
  return { ok: true, duplicate: false }
})
await serve(app, async () => { await redis.quit() })
