/**
 * Reconciliation: state changes whose callback never reached this app (it was down for a night, or
 * refused them) are found through super.AI's API and run once, through the same deduplication. A
 * `/metrics` line counts them: a number that should stay near zero, and tells when it does not.
 *
 *   SUPERAI_API_KEY=... SUPERAI_APP_ID=<project uuid> npx tsx examples/reconcile.ts
 *
 * Without SUPERAI_API_KEY it runs against the sandbox (`fastify-superai-callbacks/sandbox`): three jobs
 * were submitted there with no callback URL, so no callback ever came, and the first pass finds them.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import Fastify from 'fastify'
import { Counter, Registry } from 'prom-client'
import superaiCallbacks, { DELIVERY_CHANNEL, type DeliveryMessage } from '../src/index.js'
import { createSuperaiClient } from '../src/client/client.js'
import { createSandbox } from '../src/sandbox/index.js'

const sandbox = process.env.SUPERAI_API_KEY === undefined ? await createSandbox({ step: 50, failures: 1 / 3, seed: 4 }) : undefined
const apiKey = sandbox?.apiKey ?? process.env.SUPERAI_API_KEY
const appId = sandbox === undefined ? process.env.SUPERAI_APP_ID : 'demo-app'
const baseUrl = sandbox?.baseUrl ?? process.env.SUPERAI_BASE_URL
if (apiKey === undefined || appId === undefined) throw new Error('set SUPERAI_API_KEY and SUPERAI_APP_ID')
if (sandbox !== undefined) {
  // jobs whose callbacks nobody received: submitted without a callback URL
  await createSuperaiClient({ apiKey, baseUrl: sandbox.baseUrl }).submitJobs(appId, { inputs: [{ n: 1 }, { n: 2 }, { n: 3 }] })
  await sandbox.settled()
  console.log(`sandbox ${sandbox.baseUrl}: ${sandbox.jobs(appId).map((job) => `${job.uuid} ${String(job.status)}`).join(', ')}`)
}

const registry = new Registry()
const missed = new Counter({
  name: 'superai_missed_callbacks_total',
  help: 'State changes whose callback never arrived, found and run by reconciliation',
  labelNames: ['state'] as const,
  registers: [registry]
})
diagnosticsChannel.subscribe(DELIVERY_CHANNEL, (message) => {
  const { outcome, source, state } = message as DeliveryMessage
  if (source === 'reconcile' && (outcome === 'processed' || outcome === 'queued')) missed.inc({ state: state ?? 'none' })
})

const app = Fastify({ logger: true })
await app.register(superaiCallbacks, {
  // in-memory store; with several instances give them `redis`, and they share one schedule of passes
  reconcile: { apiKey, appIds: [appId], interval: 300, lookback: 86400, ...(baseUrl === undefined ? {} : { baseUrl }) }
})
registry.registerMetric(new Counter({
  name: 'superai_reconcile_errors_total',
  help: 'Project listings at super.AI that failed during reconciliation',
  registers: [],
  collect () { this.reset(); this.inc(app.superai.stats().reconcileErrors) }
}))

app.superai.onJobCompleted(async (event, { source, log }) => {
  // the same handler whoever reported the state change; `reconciled` says its callback never came
  log.info({ uuid: event.uuid, source, reconciled: event.reconciled === true }, 'job completed')
})
app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()))
// after an outage, without waiting for the next pass
app.post('/reconcile', async () => await app.superai.reconcile())
app.addHook('onClose', async () => { await sandbox?.close() })
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { void app.close() })

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
