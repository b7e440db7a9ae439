import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import superaiCallbacks from '../../src/index.js'
import { createSuperaiClient } from '../../src/client/client.js'
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js'
import { startReceiver } from '../helpers/receiver.js'

const APP = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'

async function start (t: Test, options: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = await createSandbox({ seed: 3, step: 20, retryDelay: 20, ...options })
  t.teardown(() => sandbox.close())
  return sandbox
}

const submit = async (sandbox: Sandbox, inputs: number, callbackUrl?: string): Promise<string[]> => {
  const client = createSuperaiClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl, retries: 0 })
  await client.submitJobs(APP, { inputs: Array.from({ length: inputs }, (_, i) => ({ n: i })), ...(callbackUrl === undefined ? {} : { callbackUrl }) })
  return sandbox.jobs(APP).map((job) => job.uuid)
}

/** A plain receiver answering with `status(n)` for its n-th request (from 0), recording what came. */
async function rawReceiver (t: Test, status: (n: number) => number): Promise<{ url: string, bodies: string[], headers: Array<Record<string, unknown>> }> {
  const app = Fastify()
  const bodies: string[] = []
  const headers: Array<Record<string, unknown>> = []
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => { done(null, body) })
  app.post('/hook/', async (request, reply) => {
    bodies.push(String(request.body))
    headers.push({ ...request.headers })
    return await reply.code(status(bodies.length - 1)).send({})
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return { url: `${address}/hook/`, bodies, headers }
}

t.test('each callback state is POSTed to the job\'s callbackUrl in the documented body; the receiver runs each once', async (t) => {
  const receiver = await startReceiver(t)
  const sandbox = await start(t, { duplicates: 0.5, postProcessing: 0.5, failures: 0.2, seed: 11 })
  const uuids = await submit(sandbox, 20, receiver.url)
  await sandbox.settled()

  const jobs = sandbox.jobs(APP)
  const expected = jobs.flatMap((job) => job.status === 'FAILED'
    ? ['FAILED']
    : job.status === 'POST_PROCESSED' ? ['COMPLETED', 'POST PROCESSING', 'POST PROCESSED'] : job.status === 'REVIEWED' ? ['COMPLETED', 'POST PROCESSING', 'NEEDS REVIEW', 'REVIEWED'] : ['COMPLETED'])
  t.ok(jobs.some((job) => job.status === 'FAILED') && jobs.some((job) => ['POST_PROCESSED', 'REVIEWED'].includes(String(job.status))), 'the seed draws every kind')
  const originals = sandbox.deliveries.filter((delivery) => delivery.copy === 'original')
  t.equal(originals.length, expected.length, 'one callback per callback state of every job')
  t.ok(sandbox.deliveries.every((delivery) => delivery.outcome === 'delivered'))
  for (const delivery of originals) {
    const job = sandbox.job(String(delivery.body.uuid))
    t.same(delivery.body, {
      id: job?.id,
      uuid: job?.uuid,
      state: delivery.body.state,
      action: 'RESOLVED',
      postProcessingEnabled: ['POST_PROCESSED', 'REVIEWED'].includes(String(job?.status)) ? 'true' : 'false'
    })
  }
  const copies = sandbox.deliveries.filter((delivery) => delivery.copy !== 'original')
  t.ok(copies.some((copy) => copy.copy === 'concurrent') && copies.some((copy) => copy.copy === 'redelivery'), 'duplicates at the same moment and later')
  t.ok(copies.length > originals.length * 0.3 && copies.length < originals.length * 0.7, `about half duplicated: ${copies.length} of ${originals.length}`)
  t.equal(receiver.answers.total, sandbox.deliveries.length)
  t.equal(receiver.answers.processed, originals.length, 'each state change processed once')
  t.equal(receiver.answers.duplicates, copies.length, 'every copy answered as a duplicate')
  t.same([...new Set(receiver.runs.values())], [1], 'no handler ran twice')
  t.same(new Set(receiver.bodies.map((body) => body.uuid)), new Set(uuids))
})

t.test('the same seed gives the same stream; another seed another one', async (t) => {
  const stream = async (seed: number): Promise<string[]> => {
    const receiver = await rawReceiver(t, () => 200)
    const sandbox = await start(t, { seed, duplicates: 0.4, postProcessing: 0.3, failures: 0.2 })
    await submit(sandbox, 12, receiver.url)
    await sandbox.settled()
    return sandbox.deliveries.map((delivery) => `${String(delivery.body.uuid)} ${String(delivery.body.state)} ${delivery.copy}`).sort()
  }
  const first = await stream(5)
  t.same(await stream(5), first)
  t.not((await stream(6)).join(), first.join())
})

t.test('a refused delivery is retried with a growing pause, then dropped after giveUpAfter tries; reconciliation finds it', async (t) => {
  // the receiver's first 2 answers are 500: the first job's callback gets through on its third try
  const flaky = await rawReceiver(t, (n) => n < 2 ? 500 : 200)
  const sandbox = await start(t, { duplicates: 0, giveUpAfter: 4, retryDelay: 40 })
  await submit(sandbox, 1, flaky.url)
  await sandbox.settled()
  const [delivered] = sandbox.deliveries
  t.same(delivered?.attempts.map((attempt) => attempt.status), [500, 500, 200])
  t.equal(delivered?.outcome, 'delivered')
  t.equal(flaky.bodies.length, 3)

  const down = await rawReceiver(t, () => 503)
  const dropping = await start(t, { duplicates: 0, giveUpAfter: 4, retryDelay: 40, step: 0 })
  const [uuid = ''] = await submit(dropping, 1, down.url)
  dropping.advance(uuid)
  dropping.advance(uuid)
  await dropping.settled()
  const [dropped] = dropping.deliveries
  t.equal(dropped?.outcome, 'dropped')
  t.equal(dropped?.attempts.length, 4, 'giveUpAfter tries, then no more')
  const gaps = (dropped?.attempts ?? []).slice(1).map((attempt, i) => attempt.at - (dropped?.attempts[i]?.at ?? 0))
  t.ok(gaps.length === 3 && (gaps[2] ?? 0) > (gaps[0] ?? 0), `the pause grows: ${gaps.join(', ')} ms`)

  // the receiver reconciles against the sandbox: the dropped state change runs once, as a reconciled event
  const app = Fastify()
  const ran: Array<Record<string, unknown>> = []
  await app.register(superaiCallbacks, { reconcile: { apiKey: dropping.apiKey, appIds: [APP], baseUrl: dropping.baseUrl, interval: 3600 } })
  app.superai.onJobCompleted(async (event) => { ran.push({ ...event }) })
  await app.ready()
  t.teardown(() => app.close())
  const summary = await app.superai.reconcile()
  t.match(summary, { listed: 1, duplicate: 1, dispatched: 0 }, 'the pass at start already ran it')
  t.match(ran, [{ uuid, state: 'COMPLETED', reconciled: true }])
})

t.test('project-wide callbacks: jobs without a callbackUrl, and a batch (v2) callback per submission', async (t) => {
  const receiver = await startReceiver(t)
  const sandbox = await start(t, { callbackUrl: receiver.url, duplicates: 0 })
  const client = createSuperaiClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl, retries: 0 })
  const { batchId } = await client.submitJobs(APP, { inputs: [{ a: 1 }, 'not an object' as unknown as Record<string, unknown>] })
  await sandbox.settled()
  const [job] = sandbox.jobs(APP)
  t.match(sandbox.deliveries.map((delivery) => delivery.body), [
    { version: '2', entityType: 'batch', entityId: batchId, state: 'PARTIAL_FAILURE', appId: APP },
    { uuid: job?.uuid, state: 'COMPLETED' }
  ])
  t.same(Object.fromEntries(receiver.named), { 'batch.partialFailure': 1, entity: 1, 'job.completed': 1 })

  // a sandbox that walks jobs only when told to: the cancel always finds the job SCHEDULED, however slow the machine
  const manual = await start(t, { callbackUrl: receiver.url, duplicates: 0, step: 0 })
  const manualClient = createSuperaiClient({ apiKey: manual.apiKey, baseUrl: manual.baseUrl, retries: 0 })
  const canceled = await manualClient.submitJobs(APP, { inputs: [{}] })
  await manualClient.cancelJob(String(canceled.uuid))
  await manual.settled()
  t.match(manual.deliveries.at(-1)?.body, { uuid: canceled.uuid, state: 'CANCELED' })
  t.equal(receiver.named.get('job.canceled'), 1)

  const own = await start(t, { duplicates: 0, step: 0 })
  const [quiet = ''] = await submit(own, 1)
  own.advance(quiet)
  own.advance(quiet)
  await own.settled()
  t.equal(own.deliveries.length, 0, 'no callbackUrl, no project-wide one: nothing is sent')
})

t.test('signKey: every callback signed as super.AI signs; a receiver with the public key accepts them, another key refuses', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey
  const receive = async (key: typeof publicKey): Promise<{ url: string, handled: string[] }> => {
    const app = Fastify()
    const handled: string[] = []
    await app.register(superaiCallbacks, { signature: { publicKey: key } })
    app.superai.onCallback(async (event) => { handled.push(event.uuid) })
    const address = await app.listen({ host: '127.0.0.1', port: 0 })
    t.teardown(() => app.close())
    return { url: `${address}/superai/callbacks/`, handled }
  }
  const good = await receive(publicKey)
  const sandbox = await start(t, { signKey: privateKey.export({ type: 'sec1', format: 'pem' }), duplicates: 0, giveUpAfter: 2 })
  const [uuid] = await submit(sandbox, 1, good.url)
  await sandbox.settled()
  t.same(good.handled, [uuid])
  const [delivery] = sandbox.deliveries
  t.match(delivery?.headers, { 'x-superai-webhook-signature': /^[A-Za-z0-9+/]{86}==$/ })
  t.equal(delivery?.payload, `{"action": "RESOLVED", "id": "${String(delivery?.body.id)}", "postProcessingEnabled": "false", "state": "COMPLETED", "uuid": "${String(uuid)}"}`,
    'serialised as json.dumps(sort_keys=True)')

  const wrong = await receive(other)
  const refused = await start(t, { signKey: privateKey, duplicates: 0, giveUpAfter: 2, seed: 4 })
  await submit(refused, 1, wrong.url)
  await refused.settled()
  t.same(wrong.handled, [])
  t.match(refused.deliveries, [{ outcome: 'dropped', attempts: [{ status: 401 }, { status: 401 }] }])
})

t.test('close() drops what is still retrying, and resolves promptly', async (t) => {
  const down = await rawReceiver(t, () => 503)
  const sandbox = await createSandbox({ seed: 1, step: 0, duplicates: 0, retryDelay: 10_000 })
  const [uuid = ''] = await submit(sandbox, 1, down.url)
  sandbox.advance(uuid)
  sandbox.advance(uuid)
  while (down.bodies.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  const started = Date.now()
  await sandbox.close()
  t.ok(Date.now() - started < 2000, `closed in ${Date.now() - started} ms`)
  t.match(sandbox.deliveries, [{ outcome: 'dropped' }])
  await sandbox.close()
  await t.rejects(fetch(`${sandbox.baseUrl}/jobs/${uuid}`))
})
