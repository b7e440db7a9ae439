import { test } from 'tap'
import type { HandlerContext, SuperaiEvent } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'
import { startFakeSuperai } from '../helpers/fake-superai.js'

const APP_ID = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'

test('queue mode: reconciled events go through the queue and run in workers, exactly once', async (t) => {
  const api = await startFakeSuperai(t)
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue, reconcile: { apiKey: api.apiKey, appIds: [APP_ID], baseUrl: api.baseUrl, interval: 3600, lookback: 600 } })
  const runs: Array<{ event: SuperaiEvent<'job.completed'>, context: HandlerContext }> = []
  app.superai.onJobCompleted(async (event, context) => { runs.push({ event, context }) })
  await app.ready()
  await waitFor(() => app.superai.stats().reconcilePasses === 1)

  const jobs = Array.from({ length: 6 }, () => api.addJob({ appId: APP_ID }))
  const arrived = jobs.slice(0, 2)
  for (const job of arrived) t.equal((await post({ id: job.id, uuid: job.uuid, state: 'COMPLETED', action: 'RESOLVED' })).statusCode, 202)

  t.same(await app.superai.reconcile(), { listed: 6, dispatched: 4, duplicate: 2, failed: 0 }, 'four handed to the queue')
  t.ok(await waitFor(() => runs.length === 6), 'workers ran every job')
  for (const run of runs.filter((r) => !arrived.some((job) => job.uuid === r.event.uuid))) {
    t.equal(run.context.source, 'queue', 'a worker ran it')
    t.equal(run.event.reconciled, true)
  }
  t.same(await app.superai.reconcile(), { listed: 6, dispatched: 0, duplicate: 6, failed: 0 })
  for (const job of jobs) {
    t.same((await post({ id: job.id, uuid: job.uuid, state: 'COMPLETED', action: 'RESOLVED' })).json(), { ok: true, duplicate: true }, 'a late callback is a duplicate')
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(runs.length, 6, 'nothing ran twice')
  t.equal(new Set(runs.map((run) => run.event.uuid)).size, 6)
  t.match(app.superai.stats(), { reconciled: 4, queued: 6 })
})
