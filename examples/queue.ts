/**
 * Queue mode: the receiver answers 202 at once and only enqueues (concurrency 0); a worker, here in the
 * same process for the demo but usually a process of its own, runs a slow handler.
 *
 *   npx tsx examples/queue.ts        (needs Redis on 127.0.0.1:6379 and `npm install bullmq`)
 */
import Fastify from 'fastify'
import superaiCallbacks, { createSuperaiWorker } from '../src/index.js'

const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const queue = { name: 'superai-example', concurrency: 0 } as const

const app = Fastify({ logger: true })
await app.register(superaiCallbacks, { redis, keyPrefix: 'superai-example:', queue })

// a worker elsewhere: the same subscriptions as app.superai, no Fastify server
const worker = await createSuperaiWorker({ redis, keyPrefix: 'superai-example:', queue: { ...queue, concurrency: 5 }, logger: app.log })
worker.onJobCompleted(async (event, context) => {
  await new Promise((resolve) => setTimeout(resolve, 2000)) // download results, write to a database...
  context.log.info({ uuid: event.uuid, attempt: context.source === 'queue' ? context.attempt : undefined }, 'job completed handled')
})
worker.start()
app.addHook('onClose', async () => { await worker.close() })

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
app.log.info(`try: npx superai-callbacks send ${address}/superai/callbacks/ --repeat 3   (202, then 200 duplicates)`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { void app.close() })
