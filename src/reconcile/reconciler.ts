import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { createTracedClient, type SuperaiClient, type SuperaiJob } from '../client/client.js'
import { NO_TELEMETRY } from '../telemetry/noop.js'
import type { Telemetry } from '../telemetry/telemetry.js'
import type { DeliveryPipeline } from '../delivery/pipeline.js'
import { normalizeStatus } from '../delivery/normalize.js'
import { codes } from '../errors.js'
import { invalid } from '../validate.js'
import type { Observer } from '../observability.js'
import type { SuperaiEvent } from '../schema.js'
import type { IdempotencyStore } from '../store/store.js'
import type { ResolvedReconcileOptions } from './options.js'
import { completedJobs, forEachBounded, stateChangeOf, type StateChange } from './state-changes.js'
import { parseWatermark, passWindow, type Watermark } from './window.js'

/** What a pass did. */
export interface ReconcileSummary {
  /** Jobs the list returned, whatever their state. */
  readonly listed: number
  /** State changes never processed before, now run (or queued, in queue mode). */
  readonly dispatched: number
  /** State changes already processed, being processed right now by another delivery, or (`superseded: 'skip'`) overtaken by a later state already processed. */
  readonly duplicate: number
  /** Dispatches whose handlers failed (or could not be stored), and projects whose listing broke off. */
  readonly failed: number
}

/** The shared store methods reconciliation needs; options refuse a store without them. */
type ScheduleStore = Required<Pick<IdempotencyStore, 'acquire' | 'read' | 'write'>>

/** The store's schedule methods, bound; the options have refused a store without them. */
export function scheduleStoreOf (store: IdempotencyStore): ScheduleStore {
  const { acquire, read, write } = store
  if (acquire === undefined || read === undefined || write === undefined) {
    throw invalid('reconcile', 'the store lacks acquire, read and write')
  }
  return { acquire: acquire.bind(store), read: read.bind(store), write: write.bind(store) }
}

/** State changes dispatched at once while the next page is read. */
const DISPATCH_CONCURRENCY = 8
/** One API call may take this long; the client retries a 429 (honouring Retry-After) or 5xx twice. */
const API_TIMEOUT_MS = 30_000

interface Counts { listed: number, dispatched: number, duplicate: number, failed: number }

/**
 * Reconciliation, the third caller of the pipeline: lists the projects' jobs at super.AI and dispatches the
 * state change each one is in, keyed as its callback, so that a state change already processed runs
 * nothing and one whose callback never arrived runs once. The instances sharing a store share one
 * schedule (a turn in the store, held until the next one) and one watermark per project.
 */
export class Reconciler {
  readonly #options: ResolvedReconcileOptions
  readonly #store: ScheduleStore
  readonly #pipeline: DeliveryPipeline
  readonly #observer: Observer
  readonly #log: FastifyBaseLogger
  readonly #client: SuperaiClient
  readonly #turnKey: string
  readonly #watermarkPrefix: string
  readonly #stopped = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<ReconcileSummary> | undefined
  /** An outage of the API is logged when it starts and when it ends, not at every pass. */
  #apiDown = false
  #storeDown = false
  readonly #telemetry: Telemetry

  constructor (parts: {
    readonly options: ResolvedReconcileOptions
    readonly store: ScheduleStore
    readonly keyPrefix: string
    readonly pipeline: DeliveryPipeline
    readonly observer: Observer
    readonly log: FastifyBaseLogger
    /** The `telemetry` option: a span per pass, parent of its API calls and of the deliveries it dispatches. */
    readonly telemetry?: Telemetry | undefined
  }) {
    this.#telemetry = parts.telemetry ?? NO_TELEMETRY
    this.#options = parts.options
    this.#store = parts.store
    this.#pipeline = parts.pipeline
    this.#observer = parts.observer
    this.#log = parts.log
    this.#client = createTracedClient({ apiKey: parts.options.apiKey, baseUrl: parts.options.baseUrl, timeout: API_TIMEOUT_MS }, parts.telemetry?.apiCall)
    // receivers of other projects may share the store and the prefix: each set of projects has its own turn
    const projects = createHash('sha256').update([...parts.options.appIds].sort().join('\n')).digest('base64url').slice(0, 12)
    this.#turnKey = `${parts.keyPrefix}reconcile:turn:${projects}`
    this.#watermarkPrefix = `${parts.keyPrefix}reconcile:watermark:`
  }

  /** Passes from now on: one at once (after downtime is when callbacks were missed), then every interval. */
  start (): void {
    if (this.#stopped.signal.aborted || this.#timer !== undefined) return
    void this.#tick()
    this.#schedule()
  }

  /** A pass over the whole lookback now, after the one this process is running, whatever the shared schedule. */
  async reconcile (): Promise<ReconcileSummary> {
    while (this.#running !== undefined) await this.#running.catch(() => {})
    if (this.#stopped.signal.aborted) throw new codes.FST_SUPERAI_RECONCILE_FAILED('the app is closing')
    return await this.#run(true)
  }

  /** Stops the passes: no new one starts, the running one lists no further page, and its dispatches finish. */
  async close (): Promise<void> {
    this.#stopped.abort()
    clearTimeout(this.#timer)
    await this.#running?.catch(() => {})
  }

  /** Ticks at the multiples of the interval on the wall clock, so that the instances' turns line up. */
  #schedule (): void {
    if (this.#stopped.signal.aborted) return
    const { intervalMs } = this.#options
    this.#timer = setTimeout(() => {
      void this.#tick().finally(() => { this.#schedule() })
    }, intervalMs - (Date.now() % intervalMs))
    this.#timer.unref()
  }

  /** A scheduled pass, when this instance gets the turn; failures are logged and counted, never thrown. */
  async #tick (): Promise<void> {
    if (this.#running !== undefined || this.#stopped.signal.aborted) return
    if (!await this.#takeTurn()) return
    if (this.#running !== undefined || this.#stopped.signal.aborted) return
    await this.#run(false).catch(() => {})
  }

  /**
   * The turn is held until just before the next tick, not only while the pass runs: one pass per interval
   * across every instance, and, when the instance holding it dies, another takes the next turn.
   */
  async #takeTurn (): Promise<boolean> {
    const { intervalMs } = this.#options
    const margin = Math.min(1000, intervalMs / 10)
    const untilNextTick = intervalMs - (Date.now() % intervalMs)
    try {
      const taken = await this.#store.acquire(this.#turnKey, Math.max(margin, Math.round(untilNextTick - margin)))
      if (this.#storeDown) this.#log.info('superai-callbacks: reconciliation reaches the store again')
      this.#storeDown = false
      return taken
    } catch (err) {
      if (!this.#storeDown) this.#log.error({ err }, 'superai-callbacks: reconciliation cannot reach the store; passes wait for it')
      this.#storeDown = true
      return false
    }
  }

  #run (wholeWindow: boolean): Promise<ReconcileSummary> {
    const running = this.#pass(wholeWindow)
    this.#running = running
    void running.catch(() => {}).finally(() => {
      if (this.#running === running) this.#running = undefined
    })
    return running
  }

  async #pass (wholeWindow: boolean): Promise<ReconcileSummary> {
    const trace = this.#telemetry.startReconcilePass()
    const counts: Counts = { listed: 0, dispatched: 0, duplicate: 0, failed: 0 }
    try {
      const summary = await trace.within(async () => await this.#passIn(wholeWindow, counts))
      trace.end(counts)
      return summary
    } catch (err) {
      trace.end(counts, err)
      throw err
    }
  }

  async #passIn (wholeWindow: boolean, counts: Counts): Promise<ReconcileSummary> {
    const startedAt = Date.now()
    const errors: unknown[] = []
    for (const appId of this.#options.appIds) {
      if (this.#stopped.signal.aborted) break
      const mark = await this.#readWatermark(appId)
      const window = passWindow(wholeWindow, mark, startedAt, this.#options.lookbackMs)
      try {
        await this.#reconcileProject(appId, window, counts)
      } catch (err) {
        if (this.#stopped.signal.aborted) break
        errors.push(err)
        counts.failed++
        continue
      }
      if (this.#stopped.signal.aborted) break
      await this.#writeWatermark(appId, { since: startedAt, fullAt: window.full ? startedAt : mark?.fullAt ?? startedAt })
    }
    this.#observer.count('reconcilePasses')
    const summary: ReconcileSummary = { ...counts }
    this.#report(summary, errors, wholeWindow, Date.now() - startedAt)
    if (errors.length > 0 && errors.length === this.#options.appIds.length) {
      const first = errors[0]
      const error = new codes.FST_SUPERAI_RECONCILE_FAILED(first instanceof Error ? first.message : String(first))
      error.cause = first
      throw error
    }
    return summary
  }

  /** Streams the project's jobs of the window page by page, dispatching a few at a time: memory stays flat. */
  async #reconcileProject (appId: string, window: { readonly from: number, readonly to: number }, counts: Counts): Promise<void> {
    const signal = this.#stopped.signal
    const told = new Set<string>()
    await forEachBounded(completedJobs(this.#client, appId, new Date(window.from), new Date(window.to), signal), DISPATCH_CONCURRENCY, signal, (job) => {
      counts.listed++
      const change = stateChangeOf(job)
      if (change.event !== undefined) return this.#dispatch(change.event, job, counts)
      this.#tellSkipped(job, change.skipped, told)
      return undefined
    })
  }

  /** A job without uuid or status, or in a status no document lists, is said once a pass (a waiting or running one, never). */
  #tellSkipped (job: SuperaiJob, skipped: StateChange['skipped'], told: Set<string>): void {
    if (skipped === 'incomplete' && !told.has('')) {
      told.add('')
      this.#log.warn({ id: job.id }, 'superai-callbacks: reconciliation skipped a listed job without uuid or status')
    } else if (skipped === 'undocumented' && typeof job.status === 'string') {
      const state = normalizeStatus(job.status)
      if (told.has(state)) return
      told.add(state)
      this.#log.warn({ uuid: job.uuid, status: job.status }, 'superai-callbacks: reconciliation skipped jobs in an undocumented status')
    }
  }

  async #dispatch (event: SuperaiEvent, job: SuperaiJob, counts: Counts): Promise<void> {
    const outcome = await this.#pipeline.deliver({ event }, { source: 'reconcile', job }, this.#log)
    switch (outcome.status) {
      case 'processed':
      case 'queued':
        counts.dispatched++
        this.#log.info({ uuid: event.uuid, id: event.id, state: event.state, key: outcome.delivery.key, queued: outcome.status === 'queued' },
          'super.AI state change reconciled: its callback had not been processed')
        return
      case 'duplicate':
      case 'inFlight':
      case 'superseded':
        // superseded (`superseded: 'skip'`): a later state of the job was already processed; nothing failed
        counts.duplicate++
        return
      default:
        counts.failed++
    }
  }

  async #readWatermark (appId: string): Promise<Watermark | undefined> {
    try {
      return parseWatermark(await this.#store.read(this.#watermarkPrefix + appId))
    } catch {
      // without it the pass reads the whole lookback: dearer, never less safe
      return undefined
    }
  }

  async #writeWatermark (appId: string, mark: Watermark): Promise<void> {
    try {
      await this.#store.write(this.#watermarkPrefix + appId, JSON.stringify(mark), this.#options.lookbackMs)
    } catch (err) {
      this.#log.warn({ err, appId }, 'superai-callbacks: reconciliation could not record its watermark; the next pass reads the whole lookback')
    }
  }

  #report (summary: ReconcileSummary, errors: readonly unknown[], wholeWindow: boolean, durationMs: number): void {
    if (errors.length > 0) {
      this.#observer.count('reconcileErrors', errors.length)
      if (!this.#apiDown) {
        const err = errors[0]
        this.#log.error({ err, failedProjects: errors.length, status: (err as { status?: unknown }).status },
          'superai-callbacks: reconciliation could not list jobs at super.AI; retried every interval (logged again once it answers)')
      }
      this.#apiDown = true
    } else if (this.#apiDown) {
      this.#apiDown = false
      this.#log.info({ ...summary }, 'superai-callbacks: super.AI answers again; reconciliation caught up')
    }
    if (summary.dispatched > 0 || summary.failed > 0) {
      this.#log.info({ ...summary, wholeWindow, durationMs }, 'superai-callbacks: reconciliation pass done')
    }
  }
}
