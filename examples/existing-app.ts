/**
 * Adding the plugin to an app that already has routes, under a prefix: the endpoint becomes
 * /api/v1/superai/callbacks/, and `superai` is decorated on the prefixed scope it was registered in.
 */
import Fastify from 'fastify'
import superaiCallbacks from '../src/index.js'

const app = Fastify({ logger: true })

app.get('/health', async () => ({ ok: true }))

await app.register(async (api) => {
  api.get('/jobs', async () => [])
  await api.register(superaiCallbacks, { path: '/superai/callbacks/' })
  api.superai.onJobCompleted(async (event, { log }) => {
    log.info({ uuid: event.uuid }, 'completed')
  })
}, { prefix: '/api/v1' })

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
console.log(app.printRoutes())
