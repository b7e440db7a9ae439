import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import diagnosticsChannel from 'node:diagnostics_channel'
import { test } from 'tap'
import { DELIVERY_CHANNEL, EVENT_NAMES, type DeliveryMessage, type HandlerContext } from '../../src/index.js'
import { buildApp, warnLines } from '../helpers/app.js'
import { REDIS_URL, callbackBody } from '../helpers/callbacks.js'
import { API_KEY, startFakeSuperai } from '../helpers/fake-superai.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'
import { jsonOf, runCli } from '../helpers/receiver.js'
import { DOCUMENTED_JOB } from '../fixtures/superai-job.js'

const APP_ID = DOCUMENTED_JOB.appId
const batchBody = (fields: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ version: '2', entityType: 'batch', entityId: randomUUID(), state: 'COMPLETED', appId: APP_ID, ...fields })

test('queue mode: a batch callback is 202, then a worker runs batch.completed and entity once; callback never sees it', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue })
  const seen: string[] = []
  const contexts: HandlerContext[] = []
  for (const name of EVENT_NAMES) app.superai.on(name, (_event, context) => { seen.push(name); contexts.push(context) })
  const messages: DeliveryMessage[] = []
  const listen = (message: unknown): void => { messages.push(message as DeliveryMessage) }
  diagnosticsChannel.subscribe(DELIVERY_CHANNEL, listen)
  t.teardown(() => { diagnosticsChannel.unsubscribe(DELIVERY_CHANNEL, listen) })
  await app.ready()

  const body = batchBody()
  const first = await post(body)
  t.equal(first.statusCode, 202)
  t.same(first.json(), { ok: true, duplicate: false, queued: true })
  t.ok(await waitFor(() => app.superai.stats().processed === 1), 'the worker ran it')
  t.same(seen.sort(), ['batch.completed', 'entity'])
  t.equal(contexts[0]?.source, 'queue')
  t.same((await post(body)).json(), { ok: true, duplicate: true }, 'a redelivery is a duplicate')
  await sleep(100)
  t.equal(seen.length, 2, 'run once')

  const unknown = batchBody({ entityType: 'project', state: 'ARCHIVED' })
  t.equal((await post(unknown)).statusCode, 202)
  t.ok(await waitFor(() => app.superai.stats().processed === 2))
  t.same(seen.slice(2), ['entity'], 'an undocumented entityType reaches entity only')
  const jobs = await app.superai.queue?.getJobs(['completed']) ?? []
  t.same(jobs.map((job) => job.name).sort(), ['batch.completed', 'entity'], 'BullMQ job names say the event')

  const queued = messages.find((message) => message.outcome === 'queued')
  t.match(queued, { uuid: body.entityId, state: 'COMPLETED', action: undefined, entityType: 'batch', source: 'http' }, 'the delivery channel: uuid is the entityId')
  t.match(messages.find((message) => message.outcome === 'processed'), { uuid: body.entityId, entityType: 'batch', source: 'queue' })
})

test('queue mode: a batch whose handler always fails is a dead letter the CLI lists by batch', async (t) => {
  const queue = uniqueQueue({ attempts: 1 })
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue })
  let failing = true
  app.superai.onBatchFailed(async () => { if (failing) throw new Error('the batch report failed') })
  await app.ready()
  const body = batchBody({ state: 'FAILED' })
  t.equal((await post(body)).statusCode, 202)
  t.ok(await waitFor(() => app.superai.stats().deadLettered === 1))
  const [letter] = await app.superai.deadLetters?.list() ?? []
  t.match(letter, { event: { version: '2', entityType: 'batch', entityId: body.entityId, state: 'FAILED' }, attempts: 1 })

  const common = ['--redis', REDIS_URL, '--queue', queue.name, '--prefix', queue.prefix]
  const text = await runCli(['dead-letters', 'list', ...common])
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, `batch ${String(body.entityId)}  FAILED`)
  const json = jsonOf<{ deadLetters: Array<{ event: Record<string, unknown> }> }>(await runCli(['dead-letters', 'list', ...common, '--json']))
  t.same(json.deadLetters[0]?.event, body)

  failing = false
  t.same(await app.superai.deadLetters?.replay(), { replayed: [letter?.key], missing: [] })
  t.ok(await waitFor(() => app.superai.stats().processed === 1), 'replayed and run')
})

test('queue mode with verify: late runs with context.job, contradicting is dropped with one warn line, ahead is retried until the API catches up', async (t) => {
  const api = await startFakeSuperai(t)
  const queue = uniqueQueue({ attempts: 20 })
  removeQueueAtTeardown(t, queue)
  const { app, post, logs } = await buildApp(t, { queue, verify: { apiKey: API_KEY, baseUrl: api.baseUrl, appIds: [APP_ID] } })
  const runs: string[] = []
  app.superai.onCallback((event, { job }) => { runs.push(`${event.uuid}:${String(job?.status)}`) })
  app.superai.onEntity((event, { batch }) => { runs.push(`${event.entityId}:${JSON.stringify(batch)}`) })
  await app.ready()

  const late = callbackBody()
  api.putJob({ uuid: late.uuid, status: 'POST_PROCESSED' })
  const contradicting = callbackBody()
  api.putJob({ uuid: contradicting.uuid, status: 'FAILED' })
  const ahead = callbackBody({ state: 'POST PROCESSED' })
  api.putJob({ uuid: ahead.uuid, status: 'COMPLETED' })
  const batch = batchBody()
  api.addBatch(APP_ID, String(batch.entityId), { id: batch.entityId })
  const foreign = batchBody({ appId: randomUUID() })

  for (const body of [late, contradicting, ahead, batch, foreign]) t.equal((await post(body)).statusCode, 202)
  t.ok(await waitFor(() => runs.length === 2 && app.superai.stats().rejected === 2), 'late and batch ran; contradicting and foreign dropped')
  t.same(runs.sort(), [`${String(batch.entityId)}:${JSON.stringify({ id: batch.entityId })}`, `${String(late.uuid)}:POST_PROCESSED`].sort())
  const warns = warnLines(logs).filter((line) => line.code === 'FST_SUPERAI_VERIFICATION_FAILED')
  t.equal(warns.length, 2, 'one warn line per dropped callback')
  t.match(warns, [{ source: 'queue' }, { source: 'queue' }])
  t.ok(await waitFor(() => app.superai.stats().verifyUnavailable >= 1), 'ahead of the API: retried, not dropped')
  t.notOk(runs.some((run) => run.startsWith(String(ahead.uuid))))
  api.update(String(ahead.uuid), { status: 'POST_PROCESSED' })
  t.ok(await waitFor(() => runs.length === 3), 'runs once the API has caught up')
  t.equal(runs.filter((run) => run.startsWith(String(ahead.uuid))).length, 1)
  t.equal(app.superai.stats().deadLettered, 0)
})
