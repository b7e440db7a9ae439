/** Raw BullMQ, draining: a bare `Worker` at concurrency 50 running the trivial handler on each job's data. */
import { Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { PREFIX, REDIS_URL, createApp, handleCallback, serve, type Body } from './common.js'

// a worker blocks on its connection: BullMQ requires maxRetriesPerRequest null
const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
const worker = new Worker<Body>(process.env.BENCH_QUEUE ?? 'bench', async (job) => { handleCallback(job.data) }, {
  connection, prefix: `${PREFIX}bull`, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50)
})
worker.on('error', () => {})
await worker.waitUntilReady()
await serve(createApp(), async () => { await worker.close(); await connection.quit() })
