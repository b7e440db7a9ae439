/**
 * A diagnostic drain contender, not a choice a user would make: a bare BullMQ `Worker` at concurrency 50
 * over the jobs the plugin's receiver stores (its job data, attempts, backoff and retention of completed
 * jobs), running the trivial handler on each job's event with nothing around it. Beside the plugin's worker
 * and the bare `Worker`, it splits the gap between them in two: what the plugin's jobs cost BullMQ, and
 * what the plugin's run claim, marks and completion around each handler cost.
 */
import { Worker } from 'bullmq'
import { Redis } from 'ioredis'
import type { CallbackJobData } from '../../src/queue/types.js'
import { isEntityEvent } from '../../src/schema.js'
import { PREFIX, REDIS_URL, createApp, handleCallback, serve } from './common.js'

// a worker blocks on its connection: BullMQ requires maxRetriesPerRequest null
const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
const worker = new Worker<CallbackJobData>(process.env.BENCH_QUEUE ?? 'bench', async (job) => {
  // the workload's callbacks are all job callbacks (a uuid); a batch's would count by its key
  const { event, key } = job.data
  handleCallback(isEntityEvent(event) ? { uuid: key } : event)
}, {
  connection, prefix: `${PREFIX}bull`, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50)
})
worker.on('error', () => {})
await worker.waitUntilReady()
await serve(createApp(), async () => { await worker.close(); await connection.quit() })
