/**
 * Contender 3, what users write (the baseline): one `SET uuid:state:action 1 EX ttl NX` with ioredis
 * (default client options) before the handler, and a `DEL` if the handler throws; the body validated with
 * the plugin's schema, the answer serialised without one. One round trip per delivery; no in-flight
 * state, so a redelivery that arrives while the first is still being handled is answered "duplicate" even
 * if that first one then fails.
 */
import { Redis } from 'ioredis'
import { CallbackBodySchema } from '../../src/schema.js'
import { PATH, PREFIX, REDIS_URL, TTL_SECONDS, createApp, handleCallback, serve, type Body } from './common.js'

const redis = new Redis(REDIS_URL)
const app = createApp()
app.post<{ Body: Body }>(PATH, { schema: { body: CallbackBodySchema } }, async (request) => {
  const { uuid, state, action } = request.body
  const key = `${PREFIX}${uuid}:${state}:${action}`
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
