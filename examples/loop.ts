/**
 * The whole loop on this machine, with no super.AI account: the sandbox (a local super.AI), a receiver with
 * the plugin on Redis, a few jobs submitted, their callbacks received and deduplicated, and a callback the
 * sandbox gave up on (the receiver was down) found by reconciliation; then a job tagged and untagged, one
 * edited and accepted, one declined, through the API, each action reaching its typed handler.
 *
 *   npm run example:loop            # REDIS_URL picks another Redis than 127.0.0.1:6379
 *   npm run example:loop -- --sign  # the sandbox signs every callback; the receiver verifies the signatures
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import superaiCallbacks from '../src/index.js'
import { createSuperaiClient } from '../src/client/client.js'
import { createSandbox } from '../src/sandbox/index.js'

const APP_ID = 'demo-app'
const sign = process.argv.includes('--sign')
// super.AI signs with a P-256 key and gives you the public one; here both halves are made on the spot
const keys = sign ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : undefined

// half the callbacks delivered twice; a delivery refused 3 times is dropped, as super.AI eventually gives up
const sandbox = await createSandbox({ seed: 'loop', step: 100, duplicates: 0.5, giveUpAfter: 3, retryDelay: 100, ...(keys === undefined ? {} : { signKey: keys.privateKey }) })
console.log(`sandbox: ${sandbox.baseUrl} (API-KEY ${sandbox.apiKey}, seed ${String(sandbox.seed)})`)

const app = Fastify({ logger: { level: 'error' } })
let down = false
// a bad deploy: the receiver refuses every callback for a while
app.addHook('onRequest', async (_request, reply) => { if (down) await reply.code(503).type('text/plain').send('down for maintenance') })
await app.register(superaiCallbacks, {
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: `superai-loop:${randomUUID()}:`, // this run's keys, forgotten after ttl
  ttl: 600,
  reconcile: { apiKey: sandbox.apiKey, appIds: [APP_ID], baseUrl: sandbox.baseUrl, interval: 3600, lookback: 600 },
  ...(keys === undefined ? {} : { signature: { publicKey: keys.publicKey } })
})
app.superai.onCallback(async (event, { source }) => {
  const action = event.action === 'RESOLVED' ? '' : ` ${event.action}`
  console.log(`receiver: handler ran for job ${event.uuid} ${event.state}${action}${event.reconciled === true ? ` (reconciled, source ${source})` : ''}`)
})
// tags and reviews arrive as actions, each with its typed event
const actions: string[] = []
app.superai.onJobTagAdded(async () => { actions.push('job.tagAdded') })
app.superai.onJobTagRemoved(async () => { actions.push('job.tagRemoved') })
app.superai.onJobEdited(async () => { actions.push('job.edited') })
app.superai.onJobAccepted(async () => { actions.push('job.accepted') })
app.superai.onJobDeclined(async () => { actions.push('job.declined') })
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
const callbackUrl = new URL('/superai/callbacks/', address).href
const client = createSuperaiClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl })

await client.submitJobs(APP_ID, { inputs: [{ n: 1 }, { n: 2 }, { n: 3 }], callbackUrl })
await sandbox.settled()
down = true
const { uuid: missed } = await client.submitJobs(APP_ID, { inputs: [{ n: 4 }], callbackUrl })
await sandbox.settled()
down = false

// a person at work in super.AI, through the API: tags, an edit of the output, verdicts
const [first, second] = (await client.listJobs(APP_ID, { statusIn: ['COMPLETED'], size: 2 })).jobs.map((job) => String(job.uuid))
await client.addTags(APP_ID, String(first), 'invoice')
await client.removeTags(APP_ID, 'invoice', { idSearch: String(first) })
await client.reviewJob(String(first), { response: { total: 42 }, correct: true })
await client.reviewJob(String(second), { correct: false })
await sandbox.settled()
console.log(`api: tagged and untagged job ${String(first)}, edited and accepted it, declined job ${String(second)}; its output is now ${JSON.stringify((await client.getJobResponse(String(first)) as { response: unknown }).response)}`)
console.log(`receiver: typed events ${actions.sort().join(', ')}`)

const copies = sandbox.deliveries.filter((delivery) => delivery.copy !== 'original').length
const dropped = sandbox.deliveries.filter((delivery) => delivery.outcome === 'dropped')
const stats = app.superai.stats()
console.log(`sandbox: ${sandbox.deliveries.length} deliveries (${copies} of them duplicates), ${dropped.length} dropped after ${dropped[0]?.attempts.length ?? 0} tries: job ${String(missed)}`)
console.log(`receiver: ${stats.received} received, ${stats.processed} processed, ${stats.duplicate} duplicates, ${stats.inFlight} answered 409 and retried`)
if (keys !== undefined) {
  const signed = sandbox.deliveries.filter((delivery) => delivery.headers['x-superai-webhook-signature'] !== undefined).length
  console.log(`signed: ${signed} of ${sandbox.deliveries.length} deliveries carried X-SuperAI-Webhook-Signature, ${stats.rejected} refused by the receiver`)
}
const summary = await app.superai.reconcile()
console.log(`reconciliation: listed ${summary.listed}, dispatched ${summary.dispatched} (the missed callback), duplicate ${summary.duplicate}, failed ${summary.failed}`)

await app.close()
await sandbox.close()
