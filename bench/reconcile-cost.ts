/**
 * What reconciliation costs super.AI's API and this process: API calls per pass (a scheduled incremental
 * pass, and a pass over the whole lookback), per day with the defaults (interval 300 s, lookback 1 day, a
 * whole-window pass every hour), and the heap a whole-window pass takes, for a project finishing 1,000
 * and 100,000 jobs a day.
 *
 *   npm run bench:reconcile
 *
 * The fake API runs in a worker thread (its own heap) on 127.0.0.1 and pages a day of completions (the
 * documented job object, `completed` spread evenly over the last 24 h) by the documented query. The store
 * answers every claim "processed": the steady state, where callbacks arrived and a pass finds duplicates,
 * and the heap measured is the pass's own, not a store's growing with the keys.
 */
import { once } from 'node:events'
import { getHeapStatistics } from 'node:v8'
import { Worker } from 'node:worker_threads'
import type { FastifyBaseLogger } from 'fastify'
import { Dispatcher } from '../src/delivery/dispatcher.js'
import { defaultIdempotencyKey } from '../src/delivery/idempotency-key.js'
import { RunHandlers } from '../src/delivery/run-handlers.js'
import { DeliveryPipeline } from '../src/delivery/pipeline.js'
import { Observer } from '../src/observability.js'
import { Reconciler } from '../src/reconcile/reconciler.js'
import { FULL_PASS_EVERY_MS, OVERLAP_MS } from '../src/reconcile/window.js'
import type { ClaimResult, IdempotencyStore } from '../src/store/store.js'
import { DOCUMENTED_JOB } from '../test/fixtures/superai-job.js'

const INTERVAL_MS = 300_000
const LOOKBACK_MS = 86_400_000
const PAGE_SIZE = 500
const APP_ID = DOCUMENTED_JOB.appId

/** The fake API: job i of n completed at now - 24 h + i * 24 h / n; pages computed, never all held. */
const FAKE_API = `
const { createServer } = require('node:http')
const { parentPort, workerData } = require('node:worker_threads')
const { n, now, template } = workerData
const step = 86400000 / n
const start = now - 86400000
const date = (ms) => new Date(ms).toISOString().replace(/\\.\\d{3}Z$/, 'Z')
let calls = 0
const server = createServer((req, res) => {
  calls++
  const url = new URL(req.url, 'http://x')
  const q = url.searchParams
  const from = Date.parse(q.get('completedStartDate'))
  const to = Date.parse(q.get('completedEndDate'))
  const lo = Math.max(0, Math.ceil((from - start) / step))
  const hi = Math.min(n - 1, Math.floor((to - start) / step))
  const total = Math.max(0, hi - lo + 1)
  const size = Number(q.get('size'))
  const page = Number(q.get('page'))
  const jobs = []
  for (let i = lo + page * size; i <= hi && i < lo + (page + 1) * size; i++) {
    const hex = i.toString(16).padStart(12, '0')
    jobs.push({ ...template, id: String(1000000 + i), uuid: '00000000-0000-4000-8000-' + hex, created: date(start + i * step - 60000), completed: date(start + i * step) })
  }
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ jobs, pages: Math.ceil(total / size) }))
})
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }))
parentPort.on('message', (m) => {
  if (m === 'calls') { parentPort.postMessage({ calls }); calls = 0 }
  if (m === 'close') server.close(() => process.exit(0))
})
`

async function startFake (n: number, now: number): Promise<{ baseUrl: string, calls: () => Promise<number>, close: () => Promise<void> }> {
  // each job is the documented one with its own id, uuid and dates
  const worker = new Worker(FAKE_API, { eval: true, workerData: { n, now, template: { ...DOCUMENTED_JOB } } })
  const [{ port }] = await once(worker, 'message') as [{ port: number }]
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls: async () => {
      worker.postMessage('calls')
      const [{ calls }] = await once(worker, 'message') as [{ calls: number }]
      return calls
    },
    close: async () => {
      worker.postMessage('close')
      await once(worker, 'exit')
    }
  }
}

/** Every claim finds the state change processed; the schedule methods keep their values in a Map. */
function steadyStateStore (): IdempotencyStore & Required<Pick<IdempotencyStore, 'acquire' | 'read' | 'write'>> & { claims: number } {
  const values = new Map<string, string>()
  const processed: ClaimResult = { status: 'processed' }
  return {
    claims: 0,
    async claim () {
      this.claims++
      return processed
    },
    complete: async () => true,
    release: async () => true,
    acquire: async () => true,
    read: async (key) => values.get(key),
    write: async (key, value) => { values.set(key, value) }
  }
}

const silent = { info () {}, warn () {}, error () {}, debug () {}, trace () {}, fatal () {}, child () { return silent }, level: 'silent' } as unknown as FastifyBaseLogger

interface Figures {
  readonly jobsPerDay: number
  readonly fullCalls: number
  readonly fullListed: number
  readonly heapPeakMb: number
  readonly incrementalCalls: number
  readonly incrementalListed: number
}

async function measure (jobsPerDay: number): Promise<Figures> {
  const now = Date.now()
  const fake = await startFake(jobsPerDay, now)
  const store = steadyStateStore()
  const observer = new Observer()
  const pipeline = new DeliveryPipeline({
    settings: { keyPrefix: 'bench:', ttlMs: 7 * LOOKBACK_MS, leaseMs: 60_000, idempotencyKey: defaultIdempotencyKey, unknownValues: 'accept' },
    store,
    observer,
    step: new RunHandlers({ dispatcher: new Dispatcher() })
  })
  const options = { apiKey: 'bench', appIds: [APP_ID], baseUrl: fake.baseUrl, intervalMs: INTERVAL_MS, lookbackMs: LOOKBACK_MS }
  const parts = { options, store, keyPrefix: 'bench:', pipeline, observer, log: silent }
  try {
    // a whole-window pass; the heap it retains, sampled after a full collection every 20 ms while it runs
    const gc = (globalThis as { gc?: () => void }).gc ?? (() => { throw new Error('run with --expose-gc (npm run bench:reconcile)') })
    gc()
    const baseline = getHeapStatistics().used_heap_size
    let peak = baseline
    const sampler = setInterval(() => {
      gc()
      peak = Math.max(peak, getHeapStatistics().used_heap_size)
    }, 20)
    const full = new Reconciler(parts)
    const summary = await full.reconcile()
    clearInterval(sampler)
    await full.close()
    const fullCalls = await fake.calls()

    // a scheduled pass one interval after the previous one, ten minutes after the last whole-window pass
    await store.write(`bench:reconcile:watermark:${APP_ID}`, JSON.stringify({ since: Date.now() - INTERVAL_MS, fullAt: Date.now() - 600_000 }), LOOKBACK_MS)
    const scheduled = new Reconciler(parts)
    const passesBefore = observer.stats().reconcilePasses
    store.claims = 0
    scheduled.start()
    while (observer.stats().reconcilePasses === passesBefore) await new Promise((resolve) => setTimeout(resolve, 5))
    await scheduled.close()
    const incrementalCalls = await fake.calls()
    return {
      jobsPerDay,
      fullCalls,
      fullListed: summary.listed,
      heapPeakMb: (peak - baseline) / 1024 / 1024,
      incrementalCalls,
      incrementalListed: store.claims
    }
  } finally {
    await fake.close()
  }
}

const passesPerDay = LOOKBACK_MS / INTERVAL_MS
const fullPerDay = LOOKBACK_MS / Math.max(FULL_PASS_EVERY_MS, INTERVAL_MS)
const rows: string[] = []
for (const jobsPerDay of [1000, 100_000]) {
  const f = await measure(jobsPerDay)
  const perDay = fullPerDay * f.fullCalls + (passesPerDay - fullPerDay) * f.incrementalCalls
  const naive = passesPerDay * f.fullCalls
  rows.push(`| ${jobsPerDay.toLocaleString('en')} | ${f.incrementalCalls} (${f.incrementalListed} jobs) | ${f.fullCalls} (${f.fullListed.toLocaleString('en')} jobs) | ${perDay.toLocaleString('en')} | ${naive.toLocaleString('en')} | ${f.heapPeakMb.toFixed(1)} MB |`)
}
console.log(`interval ${INTERVAL_MS / 1000} s, lookback ${LOOKBACK_MS / 1000} s, whole window every ${FULL_PASS_EVERY_MS / 1000} s, overlap ${OVERLAP_MS / 1000} s, page size ${PAGE_SIZE}`)
console.log('| jobs/day | calls, scheduled pass | calls, whole-window pass | calls/day | calls/day if every pass read the whole window | heap retained during a whole-window pass (peak above baseline) |')
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |')
for (const row of rows) console.log(row)
