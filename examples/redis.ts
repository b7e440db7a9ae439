/**
 * Production shape: Redis shared by every instance, two handlers on one event. Run two copies on
 * different ports (PORT=3001, PORT=3002) against one Redis: each callback is handled once in total.
 */
import Fastify from 'fastify'
import superaiCallbacks, { type SuperaiHandler } from '../src/index.js'

const app = Fastify({ logger: true })
await app.register(superaiCallbacks, {
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: 'myapp:superai:',
  ttl: 7 * 24 * 3600, // a redelivery within a week is recognised
  lease: 60 // a handler that runs longer than this may be run again by a redelivery
})

// handlers can live in their own modules, typed by event name
const storeResults: SuperaiHandler<'job.completed'> = async (event, { log, key }) => {
  log.info({ uuid: event.uuid, key }, 'storing results')
}
const notifyTeam: SuperaiHandler<'job.completed'> = async (event, { log }) => {
  log.info({ uuid: event.uuid }, 'notifying the team')
}
app.superai.onJobCompleted(storeResults)
app.superai.onJobCompleted(notifyTeam)

// every accepted callback, including states super.AI adds after this release
app.superai.on('callback', (event, { log }) => {
  log.info({ uuid: event.uuid, state: event.state, action: event.action }, 'callback')
})

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
