/**
 * bull-board on /admin/queues, showing the callback queue of queue mode (`app.superai.queue`).
 *
 *   npm install bullmq @bull-board/api @bull-board/fastify
 *   npx tsx examples/bull-board.ts   then open http://127.0.0.1:3000/admin/queues
 */
import Fastify from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import superaiCallbacks from '../src/index.js'

const app = Fastify({ logger: true })
await app.register(superaiCallbacks, { redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', queue: true })
app.superai.onJobCompleted(async (event) => { app.log.info({ uuid: event.uuid }, 'job completed') })

const queue = app.superai.queue
if (queue === undefined) throw new Error('queue mode is off')
const serverAdapter = new FastifyAdapter()
serverAdapter.setBasePath('/admin/queues')
createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter })
// put authentication in front of this in production
await app.register(serverAdapter.registerPlugin(), { prefix: '/admin/queues' })

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { void app.close() })
