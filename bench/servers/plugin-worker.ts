/** This plugin's queue worker draining: `createSuperaiWorker` at concurrency 50 (run claim, handler, completion per job). */
import { createSuperaiWorker } from '../../src/index.js'
import { PREFIX, REDIS_URL, createApp, handleCallback, serve } from './common.js'

const worker = await createSuperaiWorker({
  redis: REDIS_URL,
  keyPrefix: PREFIX,
  queue: { name: process.env.BENCH_QUEUE ?? 'bench', prefix: `${PREFIX}bull`, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50) }
})
worker.onJobCompleted((event) => { handleCallback(event) })
worker.start()
await serve(createApp(), async () => { await worker.close() })
