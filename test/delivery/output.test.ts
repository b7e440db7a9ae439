/**
 * `context.output()` through the real plugin: one fetch per delivery shared by every handler, a new
 * delivery fetches afresh, and a fetch that fails for good fails the delivery, which is then delivered
 * again (synchronous mode: 500 and a redelivery; queue mode: a retry, then a dead letter).
 */
import { randomUUID } from 'node:crypto'
import { test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { JobHandlerContext } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { API_KEY, startFakeSuperai, type FakeSuperai } from '../helpers/fake-superai.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

const APP_ID = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'
const Output = Type.Object({ response: Type.Object({ label: Type.String() }) })

const callbackOf = (uuid: string, fields: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ id: '7', uuid, state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false', ...fields })

/** The fake super.AI with the first `failures` output requests answered 404 (an answer no retry changes). */
async function fakeApi (t: Parameters<typeof startFakeSuperai>[0], failures = 0): Promise<{ api: FakeSuperai, outputRequests: () => number }> {
  let left = failures
  const api = await startFakeSuperai(t, (request) => {
    if (!request.url.endsWith('/response') || left === 0) return undefined
    left--
    return { status: 404, body: { message: 'no response yet' } }
  })
  return { api, outputRequests: () => api.requests.filter((request) => request.url.endsWith('/response')).length }
}

test('synchronous mode: two handlers calling output() twice each share one request; the next delivery fetches afresh', async (t) => {
  const { api, outputRequests } = await fakeApi(t)
  const { app, post } = await buildApp(t, { api: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  const labels: string[] = []
  const twice = async (context: JobHandlerContext): Promise<void> => {
    const [first, second] = [await context.output(Output), await context.output()]
    labels.push(first.response.label)
    t.same(second, first, 'the same document, untyped')
  }
  app.superai.onJobCompleted(async (_event, context) => { await twice(context) })
  app.superai.on('callback', async (_event, context) => { await twice(context) })
  app.superai.onJobEdited(async (_event, context) => { await twice(context) })
  const job = api.addJob()
  t.equal((await post(callbackOf(job.uuid))).statusCode, 200)
  t.same(labels, ['sandbox', 'sandbox'])
  t.equal(outputRequests(), 1, 'one output request for the delivery, two handlers and four calls')
  // an EDITED callback of the same job: its output may have changed
  t.equal((await post(callbackOf(job.uuid, { action: 'EDITED' }))).statusCode, 200)
  t.equal(outputRequests(), 2, 'the next delivery fetched afresh')
})

test('A redelivery after an output fetch that failed runs the handlers again', async (t) => {
  const { api, outputRequests } = await fakeApi(t, 1)
  const { app, post } = await buildApp(t, { api: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  const runs: string[] = []
  app.superai.onJobCompleted(async (_event, context) => {
    runs.push('run')
    runs.push((await context.output(Output)).response.label)
  })
  const job = api.addJob()
  const first = await post(callbackOf(job.uuid))
  t.equal(first.statusCode, 500, 'the fetch failed for good: the handler threw, the delivery failed')
  t.same(runs, ['run'])
  const again = await post(callbackOf(job.uuid))
  t.equal(again.statusCode, 200, 'the redelivery was not a duplicate')
  t.same(runs, ['run', 'run', 'sandbox'], 'its handlers ran again and got the output')
  t.equal(outputRequests(), 2)
  t.equal((await post(callbackOf(job.uuid))).statusCode, 200)
  t.same(runs.length, 3, 'a later duplicate runs nothing')
})

test('a reconciled event\'s handlers have output() too; a batch (v2) callback\'s context has none', async (t) => {
  const { api, outputRequests } = await fakeApi(t)
  const { app, post } = await buildApp(t, {
    api: { apiKey: API_KEY, baseUrl: api.baseUrl },
    reconcile: { appIds: [APP_ID], interval: 3600, lookback: 600 }
  })
  const seen: Array<{ source: string, label: string }> = []
  app.superai.onJobCompleted(async (_event, context) => { seen.push({ source: context.source, label: (await context.output(Output)).response.label }) })
  let batchContext: object | undefined
  app.superai.on('entity', async (_event, context) => { batchContext = context })
  await app.ready()
  api.addJob({ appId: APP_ID })
  t.match(await app.superai.reconcile(), { dispatched: 1 })
  t.same(seen, [{ source: 'reconcile', label: 'sandbox' }])
  t.equal(outputRequests(), 1)
  t.equal((await post({ version: '2', entityType: 'batch', entityId: randomUUID(), state: 'COMPLETED', appId: APP_ID })).statusCode, 200)
  t.ok(batchContext !== undefined && !('output' in batchContext), 'no output in a batch callback\'s context')
})

test('no api key: output() rejects with FST_SUPERAI_API_NOT_CONFIGURED, which fails the delivery', async (t) => {
  const { app, post } = await buildApp(t)
  let error: unknown
  app.superai.onJobCompleted(async (_event, context) => {
    try {
      await context.output()
    } catch (err) {
      error = err
      throw err
    }
  })
  t.equal((await post(callbackOf(randomUUID()))).statusCode, 500)
  t.match(error, { code: 'FST_SUPERAI_API_NOT_CONFIGURED', message: /api/ })
})

test('queue mode: a fetch that fails for good is retried, then dead-lettered; the callback is never lost', async (t) => {
  const { api, outputRequests } = await fakeApi(t, 2)
  const queue = uniqueQueue({ attempts: 2, backoff: { type: 'fixed', delay: 10 } })
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue, api: { apiKey: API_KEY, baseUrl: api.baseUrl } })
  const attempts: number[] = []
  app.superai.onJobCompleted(async (_event, context) => {
    if (context.source === 'queue') attempts.push(context.attempt)
    await context.output(Output)
  })
  await app.ready()
  const job = api.addJob()
  t.equal((await post(callbackOf(job.uuid))).statusCode, 202)
  t.ok(await waitFor(() => app.superai.stats().deadLettered === 1), 'dead-lettered after its tries')
  t.same(attempts, [1, 2], 'each try fetched afresh')
  t.equal(outputRequests(), 2)
  // the fake answers the next request: replaying the dead letter delivers it again
  t.same((await app.superai.deadLetters?.replay())?.replayed.length, 1)
  t.ok(await waitFor(() => app.superai.stats().processed === 1), 'the replayed callback ran with its output')
  t.equal(outputRequests(), 3, 'the replay\'s one request')
})
