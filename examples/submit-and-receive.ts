/**
 * Both sides of the wire: submit a job with your receiver's callback URL, receive its callback, fetch the job.
 *
 *   npx tsx examples/submit-and-receive.ts
 *
 * Without SUPERAI_API_KEY it runs against a small fake super.AI API on 127.0.0.1 that, like super.AI,
 * POSTs the callback to the URL it was given, and (at least once!) delivers it twice.
 * With SUPERAI_API_KEY, SUPERAI_APP_ID and PUBLIC_CALLBACK_URL (a tunnel to this machine, ending in
 * /superai/callbacks/) it submits a real job; SUPERAI_BASE_URL picks the region.
 */
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import superaiCallbacks from '../src/index.js'
import { createSuperaiClient } from '../src/client/client.js'

// The receiver: the plugin, and a handler that looks the job up through the API.
const app = Fastify({ logger: { level: 'warn' } })
await app.register(superaiCallbacks, { path: '/superai/callbacks/' })
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })

const apiKey = process.env.SUPERAI_API_KEY
const fake = apiKey === undefined ? await startFakeSuperai() : undefined
const client = createSuperaiClient({ apiKey: apiKey ?? 'fake-key', baseUrl: fake?.baseUrl ?? process.env.SUPERAI_BASE_URL })
const callbackUrl = process.env.PUBLIC_CALLBACK_URL ?? new URL('/superai/callbacks/', address).href

const completed = new Promise<void>((resolve) => {
  app.superai.onJobCompleted(async (event) => {
    // The callback carries little; the job object has the details (appId, results...).
    const job = await client.getJob(event.uuid)
    console.log(`handler ran for job ${event.uuid} of app ${job.appId ?? '?'} (${job.status ?? '?'})`)
    resolve()
  })
})

const submitted = await client.submitJobs(process.env.SUPERAI_APP_ID ?? 'demo-app', {
  inputs: [{ documentUrl: 'https://example.com/invoice.pdf' }],
  callbackUrl,
  metadata: { source: 'submit-and-receive example' }
})
console.log(`submitted job ${String(submitted.uuid)}; callbacks go to ${callbackUrl}`)

await completed
await fake?.delivered
await fake?.close()
await app.close()

/** A stand-in for the super.AI API: accepts a job, then POSTs its callback twice to the callback URL. */
async function startFakeSuperai (): Promise<{ baseUrl: string, delivered: Promise<void>, close: () => Promise<void> }> {
  const api = Fastify()
  const jobs = new Map<string, { uuid: string, id: number, appId: string, status: string }>()
  let markDelivered = (): void => {}
  const delivered = new Promise<void>((resolve) => { markDelivered = resolve })

  api.post<{ Params: { appId: string }, Body: { callbackUrl?: string } }>('/v1/apps/:appId/jobs', async (request) => {
    const job = { uuid: randomUUID(), id: jobs.size + 1, appId: request.params.appId, status: 'COMPLETED' }
    jobs.set(job.uuid, job)
    const { callbackUrl } = request.body
    if (callbackUrl !== undefined) {
      const body = JSON.stringify({ id: String(job.id), uuid: job.uuid, state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false' })
      setTimeout(() => {
        void (async () => {
          for (let delivery = 1; delivery <= 2; delivery++) {
            const response = await fetch(callbackUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
            console.log(`fake super.AI: delivery ${delivery} answered ${response.status} ${await response.text()}`)
          }
          markDelivered()
        })()
      }, 100)
    }
    return { message: 'Jobs submitted', batchId: randomUUID(), uuid: job.uuid }
  })
  api.get<{ Params: { uuid: string } }>('/v1/jobs/:uuid', async (request, reply) =>
    jobs.get(request.params.uuid) ?? reply.code(404).send({ message: 'job not found' }))

  const apiAddress = await api.listen({ port: 0, host: '127.0.0.1' })
  return { baseUrl: `${apiAddress}/v1`, delivered, close: async () => { await api.close() } }
}
