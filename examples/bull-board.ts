/**
 * bull-board on /admin/queues, showing the callback queue of queue mode (`app.superai.queue`).
 *
 *   npm install bullmq @bull-board/api @bull-board/fastify
 *   npx tsx examples/bull-board.ts   then open http://127.0.0.1:3000/admin/queues
 */
import { pathToFileURL } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import superaiCallbacks from '../src/index.js'

/** bull-board under `basePath`, over the plugin's queue; register the plugin with `queue` first. */
export async function mountBullBoard (app: FastifyInstance, basePath = '/admin/queues'): Promise<void> {
  const queue = app.superai.queue
  if (queue === undefined) throw new Error('queue mode is off')
  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(basePath)
  createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter })
  // put authentication in front of this in production
  await app.register(serverAdapter.registerPlugin(), { prefix: basePath })
}

// run as a script (the browser test imports mountBullBoard instead)
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const app = Fastify({ logger: true })
  await app.register(superaiCallbacks, { redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', queue: true })
  app.superai.onJobCompleted(async (event) => { app.log.info({ uuid: event.uuid }, 'job completed') })
  await mountBullBoard(app)
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { void app.close() })
}
