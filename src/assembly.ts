import type { FastifyBaseLogger } from 'fastify'
import { Dispatcher } from './delivery/dispatcher.js'
import { DeliveryPipeline } from './delivery/pipeline.js'
import { JobVerifier } from './delivery/verify.js'
import { Observer } from './observability.js'
import type { ResolvedOptions } from './options.js'
import { loadBullmq } from './queue/bullmq.js'
import { openQueue, openWorker, type QueueSide } from './queue/queue-mode.js'
import { Reconciler, scheduleStoreOf } from './reconcile/reconciler.js'
import { closeInOrder } from './shutdown.js'
import { openStore } from './store/open-store.js'
import { openApiClient } from './client/api-option.js'
import type { SuperaiClient } from './client/client.js'

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
  const bullmq = options.queue === undefined ? undefined : await loadBullmq()
  const { store, connection } = await openStore(log, options.store)

  const dispatcher = new Dispatcher()
  const observer = new Observer()
  const verifier = options.verify === undefined ? undefined : new JobVerifier(options.verify)
  let queueSide: QueueSide | undefined
  if (bullmq !== undefined && options.queue !== undefined && connection !== undefined) {
    try {
      queueSide = await openQueue(bullmq, connection.client, options.queue, options.ttlMs, observer, log)
    } catch (err) {
      await connection.close()
      throw err
    }
  }
  const pipeline = new DeliveryPipeline({ settings: options, store, dispatcher, verifier, observer, handoff: queueSide?.handoff })
  const workerSide = bullmq === undefined || options.queue === undefined || connection === undefined || options.queue.concurrency === 0
    ? undefined
    : openWorker(bullmq, connection.client, options.queue, { pipeline, leaseMs: options.leaseMs, observer, log })
  const reconciler = options.reconcile === undefined
    ? undefined
    : new Reconciler({ options: options.reconcile, store: scheduleStoreOf(store), keyPrefix: options.keyPrefix, pipeline, observer, log })

  return {
    dispatcher,
    observer,
    pipeline,
    queueSide,
    reconciler,
    api: openApiClient(options.api),
    start: () => {
      workerSide?.start()
      reconciler?.start()
    },
    close: async () => { await closeInOrder({ reconciler, workerSide, pipeline, queueSide, connection }) }
  }
}
