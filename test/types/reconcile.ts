/** Reconciliation: the option, the summary, the handler context narrowed by `source`, the client's list. */
import Fastify from 'fastify'
import superaiCallbacks, {
  createSuperaiClient, type ListJobsQuery, type ReconcileSummary, type SuperaiJob, type SuperaiJobList,
  type SuperaiReconcileOptions, type SuperaiStats
} from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

const app = Fastify()
await app.register(superaiCallbacks, {
  redis: 'redis://127.0.0.1:6379',
  reconcile: { apiKey: 'k', appIds: ['app'], baseUrl: 'https://api.super.ai/v1', interval: 300, lookback: 86400 }
})
// @ts-expect-error appIds is required
export const noApps: SuperaiReconcileOptions = { apiKey: 'k' }
// @ts-expect-error unknown reconcile options do not compile
await app.register(superaiCallbacks, { reconcile: { apiKey: 'k', appIds: ['app'], every: 60 } })

assertType<Equal<Awaited<ReturnType<typeof app.superai.reconcile>>, ReconcileSummary>>()
assertType<Equal<ReconcileSummary, { readonly listed: number, readonly dispatched: number, readonly duplicate: number, readonly failed: number }>>()
assertType<Equal<SuperaiStats['reconciled'] | SuperaiStats['reconcilePasses'] | SuperaiStats['reconcileErrors'], number>>()

app.superai.onJobCompleted(async (event, context) => {
  if (context.source === 'reconcile') {
    // the listed job is always there, and no request
    assertType<Equal<typeof context.job, SuperaiJob>>()
    // @ts-expect-error no request outside HTTP
    context.request.url.toString()
  }
  assertType<Equal<typeof event.state, 'COMPLETED'>>()
  // reconciled events carry `reconciled: true`, an extra field like any other
  assertType<Equal<typeof event.reconciled, unknown>>()
})

const client = createSuperaiClient({ apiKey: 'k' })
const query: ListJobsQuery = { page: 0, size: 500, completedStartDate: new Date(), completedEndDate: '2024-03-11T09:16:05Z', statusIn: ['COMPLETED'] }
assertType<Equal<Awaited<ReturnType<typeof client.listJobs>>, SuperaiJobList>>()
export const page = await client.listJobs('app', query)
assertType<Equal<typeof page.jobs, SuperaiJob[]>>()
assertType<Equal<typeof page.pages, number>>()
export const all = client.jobs('app', { statusIn: ['POST_PROCESSED'] })
assertType<Equal<typeof all, AsyncIterableIterator<SuperaiJob>>>()
// @ts-expect-error orderBy is asc or desc
await client.listJobs('app', { orderBy: 'up' })
// @ts-expect-error statusIn is an array
await client.listJobs('app', { statusIn: 'COMPLETED' })
