import type { FastifyBaseLogger } from 'fastify'
import { Dispatcher } from './delivery/dispatcher.js'
import { DeliveryPipeline } from './delivery/pipeline.js'
import { RunHandlers } from './delivery/run-handlers.js'
import { JobVerifier } from './delivery/api-check.js'
import { Observer } from './observability.js'
import type { ResolvedOptions } from './options.js'
import { loadBullmq } from './queue/bullmq.js'
import { openQueueSide, openWorkerSide, type QueueSide } from './queue/queue-mode.js'
import { Reconciler, scheduleStoreOf } from './reconcile/reconciler.js'
import { openStore } from './store/open-store.js'
import { openApiClient } from './client/api-option.js'
import type { SuperaiClient } from './client/client.js'
import { linkingSubmissions } from './delivery/submission-link.js'
import { openTelemetry } from './telemetry/telemetry.js'
import { JobOutputs, outputCredentials } from './delivery/job-output.js'
import { processedStatesOf } from './delivery/supersession.js'
import { JobWaiters } from './wait/job-waiters.js'
import { RedisStateFeed, subscriberOf } from './wait/redis-feed.js'

/** The parts behind both front ends (the plugin's route and `createSuperaiWorker`), opened in order. */
interface SuperaiAssembly {
  readonly dispatcher: Dispatcher
  readonly observer: Observer
  readonly pipeline: DeliveryPipeline
  /** Queue mode: the queue, its hand-off and its dead letters. */
  readonly queueSide: QueueSide | undefined
  /** With the `reconcile` option: the reconciler, not started. */
  readonly reconciler: Reconciler | undefined
  /** `app.superai.api`: the client of the `api` option (without it, one whose calls say to set it). */
  readonly api: SuperaiClient
  /** `waitFor`'s waits: closed first by `close()` (the plugin closes them earlier, from `preClose`). */
  readonly waiters: JobWaiters
  /** Takes jobs and starts reconciling from now on: call once the handlers are subscribed. */
  start (): void
  /** Closes everything opened, in the one order that loses nothing (`closeInOrder`). */
  close (): Promise<void>
}

/**
 * Opens what the options ask for, in the order both front ends need: bullmq (before any connection, so
 * that a missing package leaves nothing to close), the store, the queue, the pipeline, the worker, the
 * reconciler. A new part is wired here once, as @octokit/webhooks hands both of its front ends one event
 * handler.
 */
export async function assemble (options: ResolvedOptions, log: FastifyBaseLogger): Promise<SuperaiAssembly> {
  // first: a missing @opentelemetry/api fails register before anything connects; off, nothing is imported
  const telemetry = await openTelemetry(options.telemetry)
  const bullmq = options.queue === undefined ? undefined : await loadBullmq()
  const { store, connection } = await openStore(log, options.store)

  const dispatcher = new Dispatcher()
  const observer = new Observer()
  const verifier = options.verify === undefined ? undefined : new JobVerifier(options.verify, telemetry.apiCall)
  // each job delivery's output fetch, retried within half the lease: it fails while the claim is still held
  const outputs = new JobOutputs(outputCredentials(options), Math.floor(options.leaseMs / 2), telemetry.apiCall)
  // waits read what was processed from the store, and learn of the rest in this process or over Redis
  const waiters = new JobWaiters({
    processedStates: async (uuid) => await processedStatesOf(store, options, uuid),
    feed: connection === undefined
      ? undefined
      : (notify, recheck) => new RedisStateFeed({ open: () => subscriberOf(connection.client), keyPrefix: options.keyPrefix, notify, recheck, log })
  })
  const onProcessed = (uuid: string, state: string): void => { waiters.notify(uuid, state) }
  let queueSide: QueueSide | undefined
  if (bullmq !== undefined && options.queue !== undefined && connection !== undefined) {
    try {
      queueSide = await openQueueSide(bullmq, connection.client, options.queue, options.ttlMs, observer, log)
    } catch (err) {
      await connection.close()
      throw err
    }
  }
  // the one step after a claim: where queue mode receives callbacks, the enqueue; else the handlers
  const step = queueSide?.handoff ?? new RunHandlers({ dispatcher, verifier, superseded: options.superseded, outputs, onProcessed })
  const pipeline = new DeliveryPipeline({ settings: options, store, observer, step, telemetry })
  if (queueSide !== undefined && options.queue?.concurrency === 0) {
    // both act where the handlers run, and this app runs none: the workers' own options decide
    if (options.superseded === 'skip') log.warn('superai-callbacks: "superseded: skip" has no effect in an app that runs no queue job (queue.concurrency 0); set it on createSuperaiWorker')
    if (options.verify !== undefined) log.warn('superai-callbacks: "verify" has no effect in an app that runs no queue job (queue.concurrency 0); set it on createSuperaiWorker')
  }
  const workerSide = bullmq === undefined || options.queue === undefined || connection === undefined || options.queue.concurrency === 0
    ? undefined
    : openWorkerSide(bullmq, connection.client, options.queue, { settings: options, store, dispatcher, verifier, superseded: options.superseded, observer, log, telemetry, outputs, onProcessed })
  const reconciler = options.reconcile === undefined
    ? undefined
    : new Reconciler({ options: options.reconcile, store: scheduleStoreOf(store), keyPrefix: options.keyPrefix, pipeline, observer, log, telemetry })

  return {
    dispatcher,
    observer,
    pipeline,
    queueSide,
    reconciler,
    api: linkingSubmissions(openApiClient(options.api, telemetry.apiCall), telemetry, store, options, log),
    waiters,
    start: () => {
      workerSide?.start()
      reconciler?.start()
    },
    close: async () => { await closeInOrder({ waiters, reconciler, workerSide, pipeline, queueSide, connection }) }
  }
}

/** Anything the plugin opened that closes asynchronously. */
interface Closable { close (): Promise<void> }

/**
 * Shutdown, in the one order that loses nothing: reconciliation's running pass, the worker's running jobs, the deliveries in flight and
 * the outcomes still owed to the store, the queue, then the connection (shared by the plugin and
 * createSuperaiWorker). Typed structurally so that no declaration reaches bullmq's types.
 */
async function closeInOrder (parts: {
  readonly waiters: Closable
  readonly reconciler?: Closable | undefined
  readonly workerSide?: Closable | undefined
  readonly pipeline: { drain (): Promise<void> }
  readonly queueSide?: Closable | undefined
  readonly connection?: Closable | undefined
}): Promise<void> {
  // pending waits reject first (and their connection closes): nothing they wait for can happen any more
  await parts.waiters.close()
  await parts.reconciler?.close()
  await parts.workerSide?.close()
  await parts.pipeline.drain()
  await parts.queueSide?.close()
  await parts.connection?.close()
}
