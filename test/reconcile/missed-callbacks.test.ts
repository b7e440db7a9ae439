import { test } from 'tap'
import type { HandlerContext, SuperaiEvent } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { waitFor } from '../helpers/queue.js'
import { startFakeSuperai, type FakeJob } from '../helpers/fake-superai.js'

const APP_ID = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'

/** The callback super.AI would have sent for the job's current state (callback spelling of its status). */
const callbackOf = (job: FakeJob): Record<string, unknown> =>
  ({ id: job.id, uuid: job.uuid, state: job.status.replace(/_/g, ' '), action: 'RESOLVED', postProcessingEnabled: 'false' })

interface Run { readonly name: string, readonly event: SuperaiEvent, readonly context: HandlerContext }

/** Every named-event and `callback` handler run, in order. */
function record (app: Awaited<ReturnType<typeof buildApp>>['app']): Run[] {
  const runs: Run[] = []
  for (const name of ['job.completed', 'job.failed', 'job.canceled', 'job.postProcessed', 'callback'] as const) {
    app.superai.on(name, async (event, context) => { runs.push({ name, event: event as SuperaiEvent, context }) })
  }
  return runs
}

test('a sender that drops 40% of the callbacks: after one pass every state change ran exactly once', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post } = await buildApp(t, { reconcile: { apiKey: api.apiKey, appIds: [APP_ID], baseUrl: api.baseUrl, interval: 3600, lookback: 600 } })
  const runs = record(app)
  await app.ready()
  // the pass at start found nothing yet
  t.ok(await waitFor(() => app.superai.stats().reconcilePasses === 1), 'a first pass as the app became ready')

  const statuses = ['COMPLETED', 'FAILED', 'CANCELED', 'POST_PROCESSED'] as const
  const jobs = Array.from({ length: 20 }, (_, i) => api.addJob({ appId: APP_ID, status: statuses[i % statuses.length] }))
  const dropped = new Set(jobs.filter((_, i) => i % 5 < 2).map((job) => job.uuid))
  t.equal(dropped.size, 8, '40% of the callbacks never arrive')
  for (const job of jobs) if (!dropped.has(job.uuid)) t.equal((await post(callbackOf(job))).statusCode, 200)

  const summary = await app.superai.reconcile()
  t.same(summary, { listed: 20, dispatched: 8, duplicate: 12, failed: 0 })
  for (const job of jobs) {
    const mine = runs.filter((run) => run.event.uuid === job.uuid)
    t.same(mine.map((run) => run.name).sort(), [`job.${{ COMPLETED: 'completed', FAILED: 'failed', CANCELED: 'canceled', POST_PROCESSED: 'postProcessed' }[job.status as typeof statuses[number]]}`, 'callback'].sort(),
      `${job.status} job: its named event and callback, once each`)
    for (const run of mine) {
      if (dropped.has(job.uuid)) {
        t.match(run.event, { id: job.id, uuid: job.uuid, state: job.status.replace(/_/g, ' '), action: 'RESOLVED', reconciled: true })
        t.equal(run.context.source, 'reconcile')
        if (run.context.source === 'reconcile') t.same(run.context.job, job, 'context.job is the listed job object')
      } else {
        t.equal(run.context.source, 'http')
        t.equal(run.event.reconciled, undefined)
      }
    }
  }
  t.match(app.superai.stats(), { reconciled: 8, processed: 20, received: 12, duplicate: 0 })

  // super.AI's late retries of the dropped callbacks are duplicates now
  for (const job of jobs.filter((j) => dropped.has(j.uuid))) {
    t.same((await post(callbackOf(job))).json(), { ok: true, duplicate: true })
  }
  t.same(await app.superai.reconcile(), { listed: 20, dispatched: 0, duplicate: 20, failed: 0 }, 'a second pass dispatches nothing')
  t.equal(runs.length, 40, 'no handler ran twice')
  t.match(app.superai.stats(), { reconcilePasses: 3, reconcileErrors: 0, reconciled: 8 })
})

test('lookback is honoured, unannounced states are skipped, undocumented ones logged, a later state is caught by the full pass', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, logs } = await buildApp(t, { reconcile: { apiKey: api.apiKey, appIds: [APP_ID], baseUrl: api.baseUrl, interval: 3600, lookback: 300 } })
  const runs = record(app)
  const now = Date.now()
  const recent = api.addJob({ appId: APP_ID, status: 'COMPLETED' })
  api.addJob({ appId: APP_ID, status: 'COMPLETED', completed: new Date(now - 400_000).toISOString().replace(/\.\d+Z$/, 'Z') })
  api.addJob({ appId: APP_ID, status: 'IN_PROGRESS' })
  api.addJob({ appId: APP_ID, status: 'SCHEDULED', completed: new Date(now).toISOString().replace(/\.\d+Z$/, 'Z') })
  api.addJob({ appId: APP_ID, status: 'ARCHIVED' })
  api.addJob({ appId: APP_ID, status: 'ARCHIVED' })
  api.addJob({ appId: 'another-project', status: 'COMPLETED' })

  const before = Date.now()
  const summary = await app.superai.reconcile()
  t.same(summary, { listed: 4, dispatched: 1, duplicate: 0, failed: 0 }, 'listed: the project\'s jobs completed within lookback')
  t.same(runs.map((run) => run.event.uuid), [recent.uuid, recent.uuid])
  const query = api.lists[api.lists.length - 1]?.query
  const start = Date.parse(query?.get('completedStartDate') ?? '')
  const end = Date.parse(query?.get('completedEndDate') ?? '')
  t.ok(start <= before - 300_000 && start > before - 302_000, 'completedStartDate is lookback ago')
  t.ok(end >= before && end < Date.now() + 1000, 'completedEndDate is now')
  t.equal(query?.get('size'), '500')
  t.equal(logs.filter((line) => line.msg === 'superai-callbacks: reconciliation skipped jobs in an undocumented status').length, 1, 'logged once a pass')

  // a later state keeps the job's `completed` date: a pass over the whole window finds it
  api.update(recent.uuid, { status: 'POST_PROCESSED' })
  t.same(await app.superai.reconcile(), { listed: 4, dispatched: 1, duplicate: 0, failed: 0 })
  t.same(runs.slice(2).map((run) => run.name).sort(), ['callback', 'job.postProcessed'])
})

test('close() waits for a running pass; reconcile() without the option is a coded error', async (t) => {
  const api = await startFakeSuperai(t)
  const { app } = await buildApp(t, { reconcile: { apiKey: api.apiKey, appIds: [APP_ID], baseUrl: api.baseUrl, interval: 3600, lookback: 600 } })
  let started = 0
  let finished = 0
  app.superai.onJobCompleted(async () => {
    started++
    await new Promise((resolve) => setTimeout(resolve, 300))
    finished++
  })
  await app.ready()
  await waitFor(() => app.superai.stats().reconcilePasses === 1)
  for (let i = 0; i < 3; i++) api.addJob({ appId: APP_ID })
  const pass = app.superai.reconcile()
  t.ok(await waitFor(() => started > 0), 'the pass is in its handlers')
  await app.close()
  t.equal(finished, started, 'every handler the pass started had finished when close() resolved')
  t.same(await pass, { listed: 3, dispatched: 3, duplicate: 0, failed: 0 })
  await t.rejects(app.superai.reconcile(), { code: 'FST_SUPERAI_RECONCILE_FAILED' }, 'no pass after close')

  const plain = await buildApp(t, {}, { memory: true })
  await t.rejects(plain.app.superai.reconcile(), { code: 'FST_SUPERAI_RECONCILE_NOT_CONFIGURED', statusCode: 500 })
})

test('idempotencyKey receives reconciled events too, marked reconciled: true', async (t) => {
  const api = await startFakeSuperai(t)
  const keyed: SuperaiEvent[] = []
  const { app, post, prefix } = await buildApp(t, {
    idempotencyKey: (event) => { keyed.push(event); return `${event.uuid}/${event.state}` },
    reconcile: { apiKey: api.apiKey, appIds: [APP_ID], baseUrl: api.baseUrl, interval: 3600, lookback: 600 }
  })
  const keys: string[] = []
  app.superai.onCallback(async (_event, context) => { keys.push(context.key) })
  await app.ready()
  await waitFor(() => app.superai.stats().reconcilePasses === 1)
  const arrived = api.addJob({ appId: APP_ID })
  const missed = api.addJob({ appId: APP_ID })
  await post(callbackOf(arrived))
  t.same(await app.superai.reconcile(), { listed: 2, dispatched: 1, duplicate: 1, failed: 0 }, 'the custom key matched the callback')
  t.same(keys, [`${prefix}${arrived.uuid}/COMPLETED`, `${prefix}${missed.uuid}/COMPLETED`])
  t.same(keyed.filter((event) => event.reconciled === true).map((event) => event.uuid).sort(), [arrived.uuid, missed.uuid].sort())
})

test('superseded: skip: a state change a later processed state overtook counts as a duplicate, not a failure', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post } = await buildApp(t, { superseded: 'skip', reconcile: { apiKey: api.apiKey, appIds: [APP_ID], baseUrl: api.baseUrl, interval: 3600, lookback: 600 } })
  const runs = record(app)
  await app.ready()
  await waitFor(() => app.superai.stats().reconcilePasses === 1)
  // the API still lists the job as COMPLETED while its POST PROCESSED callback was already processed
  const job = api.addJob({ appId: APP_ID, status: 'COMPLETED' })
  t.equal((await post({ ...callbackOf(job), state: 'POST PROCESSED' })).statusCode, 200)
  t.same(await app.superai.reconcile(), { listed: 1, dispatched: 0, duplicate: 1, failed: 0 })
  t.same(runs.map((run) => run.name).sort(), ['callback', 'job.postProcessed'], 'the late COMPLETED ran no handler')
})
