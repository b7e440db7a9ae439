/**
 * Submit and wait: a route that submits a document to super.AI with `app.superai.api`, waits until the
 * job's callback was handled (`app.superai.waitFor`), and answers with the extraction its handler got
 * from `context.output()`.
 *
 *   npx tsx examples/submit-and-wait.ts
 *   curl -s -X POST http://127.0.0.1:3000/extract -H 'content-type: application/json' -d '{"documentUrl":"https://example.com/invoice.pdf"}'
 *
 * Without SUPERAI_API_KEY it runs against the sandbox (`fastify-superai-callbacks/sandbox`), a local
 * super.AI that walks each job through its states and POSTs its callbacks here. With SUPERAI_API_KEY,
 * SUPERAI_APP_ID and PUBLIC_BASE_URL (where super.AI reaches this app, e.g. a tunnel) it submits real jobs;
 * SUPERAI_BASE_URL picks the region. With several instances, give them one `redis`: a wait then resolves
 * whichever instance handled the callback.
 */
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import superaiCallbacks from '../src/index.js'
import { createSandbox } from '../src/sandbox/index.js'

const apiKey = process.env.SUPERAI_API_KEY
const sandbox = apiKey === undefined ? await createSandbox({ step: 50, duplicates: 0.5 }) : undefined

const app = Fastify({ logger: { level: 'warn' } })
await app.register(superaiCallbacks, {
  api: { apiKey: apiKey ?? sandbox?.apiKey ?? '', ...(sandbox === undefined ? { baseUrl: process.env.SUPERAI_BASE_URL } : { baseUrl: sandbox.baseUrl }) }
})

/** The output document of `GET jobs/{uuid}/response`: its `response` holds the extraction. */
const Output = Type.Object({ response: Type.Unknown() })
/** What the handlers stored, by job: in a real service, your database. */
const extractions = new Map<string, unknown>()

app.superai.onJobCompleted(async (event, context) => {
  // fetched once for this delivery, checked against the schema; a fetch that fails for good fails the
  // delivery, and super.AI delivers the callback again
  const { response } = await context.output(Output)
  extractions.set(event.uuid, response)
})

let publicBaseUrl = process.env.PUBLIC_BASE_URL ?? ''

app.post('/extract', {
  schema: { body: Type.Object({ documentUrl: Type.String({ pattern: '^https?://' }) }) }
}, async (request, reply) => {
  const { documentUrl } = request.body as { documentUrl: string }
  const submitted = await app.superai.api.submitJobs(process.env.SUPERAI_APP_ID ?? 'demo-app', {
    inputs: [{ documentUrl }],
    callbackUrl: app.superai.callbackUrl(publicBaseUrl)
  })
  const uuid = submitted.uuid
  if (typeof uuid !== 'string') return await reply.code(502).send({ error: 'super.AI returned no job uuid' })
  // resolves once the job's final state change was handled, here or (with Redis) on another instance;
  // a state handled before this line resolves it at once, so submit-then-wait has no race
  const { state } = await app.superai.waitFor(uuid, { timeout: 120_000 })
  if (state !== 'COMPLETED') return await reply.code(502).send({ uuid, state })
  // handled on another instance: its store, or the API, has the output
  const extraction = extractions.get(uuid) ?? (await app.superai.api.getJobResponse(uuid, { schema: Output })).response
  extractions.delete(uuid)
  return { uuid, state, extraction }
})

app.addHook('onClose', async () => { await sandbox?.close() })
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
if (publicBaseUrl === '') publicBaseUrl = address
console.log(`listening on ${address}; POST ${address}/extract with {"documentUrl": "https://..."}`)
