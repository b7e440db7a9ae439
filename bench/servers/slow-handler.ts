/**
 * The plugin with a handler that awaits BENCH_HANDLER_MS (50 ms). BENCH_MODE: `sync` (handlers in the request), `queue`
 * (queue mode, `concurrency: 0`: this process only claims and enqueues; `slow-worker.ts` runs the
 * handlers in a process of its own), `queue-inprocess` (queue mode, a worker of concurrency
 * BENCH_CONCURRENCY in this process).
 */
import superaiCallbacks from '../../src/index.js'
import { PREFIX, REDIS_URL, createApp, serve } from './common.js'
import { addRunsRoute, slowHandler } from './slow-common.js'

const mode = process.env.BENCH_MODE ?? 'sync'
if (mode !== 'sync' && mode !== 'queue' && mode !== 'queue-inprocess') throw new Error(`BENCH_MODE: unknown mode ${mode}`)
const app = createApp()
await app.register(superaiCallbacks, {
  redis: REDIS_URL,
  keyPrefix: PREFIX,
  // the queue's keys start with the run's prefix too
  ...(mode === 'sync'
    ? {}
    : { queue: { name: process.env.BENCH_QUEUE ?? 'bench', prefix: `${PREFIX}bull`, concurrency: mode === 'queue' ? 0 : Number(process.env.BENCH_CONCURRENCY ?? 50) } })
})
app.superai.onJobCompleted(slowHandler)
addRunsRoute(app)
await serve(app)
