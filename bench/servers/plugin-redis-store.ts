/**
 * The diagnostic contenders, not configurations a user would choose: the plugin with Redis as `plugin-redis`
 * runs it (the client the plugin makes from a URL: its defaults and write batching), its `RedisStore` made
 * here and handed over as the `store` option, with one part taken out to show what that part costs:
 * BENCH_STORE=unmarked, the store without `claimAndRead`/`completeAndMark` (no job's states remembered,
 * `context.superseded` always false); BENCH_STORE=unbatched, each store operation its own command
 * (`batch: false`) instead of one script call per turn; BENCH_STORE=announced and unannounced, the store
 * behind the same wrapper, its completions' announcements (the PUBLISH that `waitFor` on other instances
 * hears, with nobody listening) passed on or dropped: the two differ by the publication alone.
 */
import superaiCallbacks, { RedisStore, type IdempotencyStore, type StateRecord } from '../../src/index.js'
import { connectRedis } from '../../src/store/connection.js'
import { PREFIX, REDIS_URL, createApp, handleCallback, serve } from './common.js'

const variant = process.env.BENCH_STORE
if (variant !== 'unmarked' && variant !== 'unbatched' && variant !== 'announced' && variant !== 'unannounced') {
  throw new Error(`BENCH_STORE must be unmarked, unbatched, announced or unannounced, got ${String(variant)}`)
}
const app = createApp()
const connection = await connectRedis(REDIS_URL, {}, app.log)
const redis = variant === 'unbatched'
  ? new RedisStore(connection.client, { nativeClaim: true, batch: false })
  : await RedisStore.create(connection.client)
/** The record without its announcement: the completion publishes nothing. */
const unannounced = (record: StateRecord): StateRecord => 'stateKey' in record ? { stateKey: record.stateKey } : { marksKey: record.marksKey, mark: record.mark }
const wrapped = (announce: boolean): IdempotencyStore => ({
  claim: async (key, token, leaseMs) => await redis.claim(key, token, leaseMs),
  complete: async (key, token, ttlMs) => await redis.complete(key, token, ttlMs),
  release: async (key, token) => await redis.release(key, token),
  claimAndRead: async (key, token, leaseMs, query) => await redis.claimAndRead(key, token, leaseMs, query),
  completeAndMark: async (key, token, ttlMs, record) => await redis.completeAndMark(key, token, ttlMs, announce ? record : unannounced(record)),
  handled: async (keys) => await redis.handled(keys)
})
const store: IdempotencyStore = variant === 'unbatched'
  ? redis
  : variant === 'announced' || variant === 'unannounced'
    ? wrapped(variant === 'announced')
    : {
        claim: async (key, token, leaseMs) => await redis.claim(key, token, leaseMs),
        complete: async (key, token, ttlMs) => await redis.complete(key, token, ttlMs),
        release: async (key, token) => await redis.release(key, token)
      }
await app.register(superaiCallbacks, { store, keyPrefix: PREFIX })
app.superai.onJobCompleted((event) => { handleCallback(event) })
await serve(app, async () => { await connection.close() })
