/** This plugin in queue mode, receiving only (`concurrency: 0`): claim, enqueue, complete, then 202. */
import superaiCallbacks from '../../src/index.js'
import { PREFIX, REDIS_URL, createApp, serve } from './common.js'

const app = createApp()
await app.register(superaiCallbacks, {
  redis: REDIS_URL,
  keyPrefix: PREFIX,
  queue: { name: process.env.BENCH_QUEUE ?? 'bench', prefix: `${PREFIX}bull`, concurrency: 0 }
})
await serve(app)
