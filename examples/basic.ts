/**
 * The smallest receiver: in-memory store (one process). `npm run example`, then send it a callback
 * with the curl command it prints. Send the same command twice: the second answer says duplicate.
 */
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import superaiCallbacks from '../src/index.js'

const app = Fastify({ logger: { level: 'info' } })
await app.register(superaiCallbacks)

app.superai.onJobCompleted(async (event, { log }) => {
  log.info({ uuid: event.uuid, id: event.id }, 'job completed: fetch its results here')
})
app.superai.onJobFailed(async (event, { log }) => {
  log.warn({ uuid: event.uuid }, 'job failed')
})

const port = Number(process.env.PORT ?? 3000)
await app.listen({ port, host: '127.0.0.1' })

const body = JSON.stringify({ id: '1', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false' })
console.log(`\nsuper.AI callbacks are received at http://127.0.0.1:${port}/superai/callbacks/ — send one with:\n`)
console.log(`curl -i -X POST http://127.0.0.1:${port}/superai/callbacks/ -H 'content-type: application/json' -d '${body}'\n`)
