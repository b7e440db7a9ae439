import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { buildApp } from '../helpers/app.js'
import { uniquePrefix } from '../helpers/callbacks.js'
import { waitFor } from '../helpers/queue.js'
import { startFakeSuperai, type FakeJob } from '../helpers/fake-superai.js'

const APP_ID = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'

const callbackOf = (job: FakeJob): Record<string, unknown> => ({ id: job.id, uuid: job.uuid, state: job.status, action: 'RESOLVED' })

test('two instances passing every second on one Redis: each state change once across both, the API asked as by one', async (t) => {
  const api = await startFakeSuperai(t)
  const keyPrefix = uniquePrefix('reconcile-two')
  const reconcile = { apiKey: api.apiKey, appIds: [APP_ID], baseUrl: api.baseUrl, interval: 1, lookback: 600 }
  const instances = [await buildApp(t, { keyPrefix, reconcile }), await buildApp(t, { keyPrefix, reconcile })]
  const runs = new Map<string, number>()
  for (const { app } of instances) {
    app.superai.onCallback(async (event, context) => {
      if (context.source === 'reconcile') runs.set(event.uuid, (runs.get(event.uuid) ?? 0) + 1)
    })
  }
  const jobs = Array.from({ length: 5 }, () => api.addJob({ appId: APP_ID }))
  const started = Date.now()
  await Promise.all(instances.map(async ({ app }) => { await app.ready() }))
  // jobs keep completing while the passes go on
  for (let i = 0; i < 10; i++) {
    await sleep(300)
    jobs.push(api.addJob({ appId: APP_ID, status: i % 2 === 0 ? 'COMPLETED' : 'FAILED' }))
  }
  const lastAdded = Date.now()
  t.ok(await waitFor(() => runs.size === jobs.length, 3000), 'every job found')
  // one more pass, so that each was offered again after it ran
  await waitFor(() => api.lists.some((list) => list.at > lastAdded + 1100), 3000)
  const elapsed = (Date.now() - started) / 1000
  const passCount = (): number => instances.reduce((sum, { app }) => sum + app.superai.stats().reconcilePasses, 0)
  // a pass whose list was answered may still be dispatching
  await waitFor(() => passCount() === api.lists.length, 2000)

  t.same([...runs.values()].filter((n) => n !== 1), [], 'each state change ran exactly once across both instances')
  const passes = instances.map(({ app }) => app.superai.stats().reconcilePasses)
  const total = passes.reduce((a, b) => a + b, 0)
  t.ok(total <= Math.ceil(elapsed) + 1, `${total} passes in ${elapsed.toFixed(1)} s across both (${passes.join(' + ')}): one per interval`)
  t.ok(total >= Math.floor(elapsed / 2), 'and passes keep coming')
  t.equal(api.lists.length, total, 'one list request per pass (one page each)')

  // after the first (whole window) pass the shared watermark narrows the read
  const starts = api.lists.map((list) => Date.parse(list.query.get('completedStartDate') ?? ''))
  t.ok((starts[0] ?? 0) <= started - 599_000, 'the first pass reads the whole lookback')
  // (a pass still running when the next turn comes, on a loaded machine, leaves that one no watermark yet)
  t.ok(starts.slice(1).filter((start) => start >= started - 121_000).length >= starts.length - 2, 'the next ones read from the previous pass start, less the overlap')
})

test('the API failing for a while: callbacks are answered, the outage logged once, the next pass catches up', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post, logs } = await buildApp(t, { reconcile: { apiKey: api.apiKey, appIds: [APP_ID], baseUrl: api.baseUrl, interval: 1, lookback: 600 } })
  const runs = new Map<string, string>()
  app.superai.onCallback(async (event, context) => { runs.set(event.uuid, context.source) })
  api.fail({ status: 503, headers: { 'retry-after': '0' } })
  await app.ready()

  const jobs = Array.from({ length: 6 }, () => api.addJob({ appId: APP_ID }))
  for (const job of jobs.slice(0, 3)) t.same((await post(callbackOf(job))).json(), { ok: true, duplicate: false }, 'callbacks are answered during the outage')
  t.ok(await waitFor(() => app.superai.stats().reconcileErrors >= 2, 5000), 'failed passes counted')
  await t.rejects(app.superai.reconcile(), { code: 'FST_SUPERAI_RECONCILE_FAILED', message: /503/ }, 'a manual pass says the API cannot be listed')
  const outage = logs.filter((line) => typeof line.msg === 'string' && line.msg.includes('could not list jobs at super.AI'))
  t.equal(outage.length, 1, 'the outage is logged once, not at every pass')
  t.equal(runs.size, 3)
  api.fail({ status: 429, headers: { 'retry-after': '120' } })
  await t.rejects(app.superai.reconcile(), { code: 'FST_SUPERAI_RECONCILE_FAILED', message: /429/ }, 'a rate limit asking for minutes ends the pass at once')
  t.equal(logs.filter((line) => typeof line.msg === 'string' && line.msg.includes('could not list jobs at super.AI')).length, 1, 'still the same outage')

  api.fail(undefined)
  t.ok(await waitFor(() => runs.size === 6, 4000), 'the next pass after the outage catches up')
  t.same(jobs.slice(3).map((job) => runs.get(job.uuid)), ['reconcile', 'reconcile', 'reconcile'])
  t.ok(await waitFor(() => logs.some((line) => line.msg === 'superai-callbacks: super.AI answers again; reconciliation caught up')))
  t.match(app.superai.stats(), { reconciled: 3, received: 3, processed: 6 })
})
