/**
 * Both sides of the wire: submit a job with your receiver's callback URL, receive its callback, fetch the job.
 *
 *   npx tsx examples/submit-and-receive.ts
 *
 * Without SUPERAI_API_KEY it runs against the sandbox (`fastify-superai-callbacks/sandbox`), a local
 * super.AI on 127.0.0.1 that walks the job through its states and, like super.AI, POSTs the callback to the
 * URL it was given, at least once: here it delivers it twice.
 * With SUPERAI_API_KEY, SUPERAI_APP_ID and PUBLIC_CALLBACK_URL (a tunnel to this machine, ending in
 * /superai/callbacks/) it submits a real job; SUPERAI_BASE_URL picks the region.
 */
import Fastify from 'fastify'
import superaiCallbacks from '../src/index.js'
import { createSuperaiClient } from '../src/client/client.js'
import { createSandbox } from '../src/sandbox/index.js'

// The receiver: the plugin, and a handler that looks the job up through the API.
const app = Fastify({ logger: { level: 'warn' } })
await app.register(superaiCallbacks, { path: '/superai/callbacks/' })
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })

const apiKey = process.env.SUPERAI_API_KEY
// every callback delivered twice; this seed sends the copy after the first, not at the same moment
const sandbox = apiKey === undefined ? await createSandbox({ duplicates: 1, seed: 6, step: 100 }) : undefined
const client = createSuperaiClient({ apiKey: apiKey ?? sandbox?.apiKey ?? '', baseUrl: sandbox?.baseUrl ?? process.env.SUPERAI_BASE_URL })
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
if (sandbox !== undefined) {
  await sandbox.settled()
  for (const [i, delivery] of sandbox.deliveries.entries()) {
    const last = delivery.attempts.at(-1)
    console.log(`sandbox: delivery ${i + 1} answered ${last?.status ?? 0} ${last?.answer ?? ''} (${delivery.copy}, ${delivery.attempts.length} tr${delivery.attempts.length === 1 ? 'y' : 'ies'})`)
  }
  await sandbox.close()
}
await app.close()
