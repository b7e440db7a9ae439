/**
 * Diagnostic contenders, not configurations a user would choose: the plugin as `plugin-redis` (or, with
 * BENCH_UNCORKED_QUEUE=1, as `plugin-queue`) runs it, on a client with the settings the plugin gives its own
 * clients, but handed over as the `redis` option, so that its writes are not corked (`store/batch-writes.ts`
 * corks only clients the plugin creates). The gap to `plugin-redis` / `plugin-queue` is what the cork buys.
 */
import { Redis } from 'ioredis'
import superaiCallbacks from '../../src/index.js'
import { clientSettings } from '../../src/store/redis-defaults.js'
import { PREFIX, REDIS_URL, createApp, handleCallback, serve } from './common.js'

const queueMode = process.env.BENCH_UNCORKED_QUEUE === '1'
const client = new Redis(REDIS_URL, clientSettings({}))
await client.connect()
const app = createApp()
await app.register(superaiCallbacks, {
  redis: client,
  keyPrefix: PREFIX,
  ...(queueMode ? { queue: { name: process.env.BENCH_QUEUE ?? 'bench', prefix: `${PREFIX}bull`, concurrency: 0 } } : {})
})
if (!queueMode) app.superai.onJobCompleted((event) => { handleCallback(event) })
await serve(app, async () => { await client.quit() })
