/** Contender 2, the ceiling: a bare Fastify route with the same schema and handler, and no deduplication at all. */
import { PATH, ROUTE_SCHEMA, createApp, handleCallback, serve, type Body } from './common.js'

const app = createApp()
app.post<{ Body: Body }>(PATH, { schema: ROUTE_SCHEMA }, async (request) => {
  handleCallback(request.body)
  return { ok: true, duplicate: false }
})
await serve(app)
