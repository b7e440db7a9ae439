/**
 * A queue worker in a process of its own, as the README recommends for production: `createSuperaiWorker`
 * with concurrency BENCH_CONCURRENCY (50: enough for 50 ms handlers at a few hundred callbacks per second),
 * on the queue the `slow-handler` receiver (BENCH_MODE=queue) fills. A small Fastify app serves only the
 * harness' stats and runs routes.
 */
import { createSuperaiWorker } from '../../src/index.js'
import { PREFIX, REDIS_URL, createApp, serve } from './common.js'
import { addRunsRoute, slowHandler } from './slow-common.js'

const worker = await createSuperaiWorker({
  redis: REDIS_URL,
  keyPrefix: PREFIX,
  queue: { name: process.env.BENCH_QUEUE ?? 'bench', prefix: `${PREFIX}bull`, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50) }
})
worker.onJobCompleted(slowHandler)
worker.start()
const app = createApp()
addRunsRoute(app)
await serve(app, async () => { await worker.close() })
