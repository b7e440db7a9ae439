/**
 * The diagnostic contenders, not configurations a user would choose: the plugin with Redis as `plugin-redis`
 * runs it (the client the plugin makes from a URL: its defaults and write batching), its `RedisStore` made
 * here and handed over as the `store` option, with one part taken out to show what that part costs:
 * BENCH_STORE=unmarked, the store without `claimAndRead`/`completeAndMark` (no job's states remembered,
 * `context.superseded` always false); BENCH_STORE=unbatched, each store operation its own command
 * (`batch: false`) instead of one script call per turn.
 */
import superaiCallbacks, { RedisStore, type IdempotencyStore } from '../../src/index.js'
import { connectRedis } from '../../src/store/connection.js'
import { PREFIX, REDIS_URL, createApp, handleCallback, serve } from './common.js'

const variant = process.env.BENCH_STORE
if (variant !== 'unmarked' && variant !== 'unbatched') throw new Error(`BENCH_STORE must be unmarked or unbatched, got ${String(variant)}`)
const app = createApp()
const connection = await connectRedis(REDIS_URL, {}, app.log)
const redis = variant === 'unbatched'
  ? new RedisStore(connection.client, { nativeClaim: true, batch: false })
  : await RedisStore.create(connection.client)
const store: IdempotencyStore = variant === 'unbatched'
  ? redis
  : {
      claim: async (key, token, leaseMs) => await redis.claim(key, token, leaseMs),
      complete: async (key, token, ttlMs) => await redis.complete(key, token, ttlMs),
      release: async (key, token) => await redis.release(key, token)
    }
await app.register(superaiCallbacks, { store, keyPrefix: PREFIX })
app.superai.onJobCompleted((event) => { handleCallback(event) })
await serve(app, async () => { await connection.close() })
