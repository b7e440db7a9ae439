/**
 * Raw BullMQ, receiving: what a user writes instead of queue mode, a route that calls `Queue.add` with a job
 * id derived from the body (BullMQ ignores an add whose job id it already holds) and answers 202. No claim,
 * no completion: a redelivery after the job was removed is queued again, and nothing says 409 or duplicate.
 */
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { CallbackQueuedSchema } from '../../src/schema.js'
import { PATH, PREFIX, REDIS_URL, ROUTE_SCHEMA, bodyKey, createApp, serve, type Body } from './common.js'

const QUEUED = { ok: true, duplicate: false, queued: true } as const
const connection = new Redis(REDIS_URL)
const queue = new Queue(process.env.BENCH_QUEUE ?? 'bench', { connection, prefix: `${PREFIX}bull` })
await queue.waitUntilReady()

const app = createApp()
app.post<{ Body: Body }>(PATH, { schema: { body: ROUTE_SCHEMA.body, response: { 202: CallbackQueuedSchema } } }, async (request, reply) => {
  // BullMQ refuses ':' in a custom job id
  await queue.add('callback', request.body, { jobId: bodyKey(request.body).replace(':', '.') })
  return await reply.code(202).send(QUEUED)
})
await serve(app, async () => { await queue.close(); await connection.quit() })
