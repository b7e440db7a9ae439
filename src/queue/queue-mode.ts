import type { Worker } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { Dispatcher } from '../delivery/dispatcher.js'
import { DeliveryPipeline, type PipelineSettings } from '../delivery/pipeline.js'
import { RunHandlers } from '../delivery/run-handlers.js'
import type { JobVerifier } from '../delivery/api-check.js'
import type { JobOutputs } from '../delivery/job-output.js'
import type { Observer } from '../observability.js'
import type { IdempotencyStore } from '../store/store.js'
import type { Telemetry } from '../telemetry/telemetry.js'
import { quitRedis } from '../store/connection.js'
import type { Bullmq } from './bullmq.js'
import { DeadLetters } from './dead-letters.js'
import { QueueHandoff, enqueueTo, runClaimKey } from './handoff.js'
import { checkClusterPrefix, type ResolvedQueueOptions } from './options.js'
import type { CallbackJobData, SuperaiQueue } from './types.js'
import { createBullmqWorker, workerConnection } from './worker.js'

/** The queue side of queue mode, shared by the plugin and createSuperaiWorker. */
export interface QueueSide {
  readonly queue: SuperaiQueue
  /** The step after the claim where callbacks are received: enqueue. */
  readonly handoff: QueueHandoff
  readonly deadLetters: DeadLetters
  /** Closes the Queue (its connection is the store's and stays open). */
  close (): Promise<void>
}

/** The callback queue on the store's own connection: commands fail fast, so a failed enqueue is a 503. */
export async function openQueueSide (bullmq: Bullmq, client: Redis | Cluster, options: ResolvedQueueOptions, ttlMs: number,
  observer: Observer, log: FastifyBaseLogger): Promise<QueueSide> {
  checkClusterPrefix(options.prefix, client)
  const queue: SuperaiQueue = new bullmq.Queue<CallbackJobData>(options.name, { connection: client, prefix: options.prefix })
  queue.on('error', (err) => { log.error({ err }, 'superai-callbacks: queue error') })
  try {
    await queue.waitUntilReady()
  } catch (err) {
    await queue.close().catch(() => {})
    throw err
  }
  return {
    queue,
    handoff: new QueueHandoff(enqueueTo(queue, options, ttlMs)),
    deadLetters: new DeadLetters(queue, observer),
    close: async () => { await queue.close() }
  }
}

/** A worker on a connection of its own, not started; `close()` waits for its running jobs, then closes it. */
interface WorkerSide {
  readonly worker: Worker<CallbackJobData>
  /** Takes jobs from now on; call once the handlers are subscribed. */
  start (): void
  close (): Promise<void>
}

/** What a worker runs its jobs with: the handlers, the store its run claims go to, and how it decides. */
export interface WorkerParts {
  readonly settings: PipelineSettings
  readonly store: IdempotencyStore
  readonly dispatcher: Dispatcher
  readonly verifier: JobVerifier | undefined
  /** A job whose state a later one of its job overtook: run with the flag, or skip. The worker's own choice. */
  readonly superseded: 'dispatch' | 'skip'
  readonly observer: Observer
  readonly log: FastifyBaseLogger
  /** The `telemetry` option: each try's `process` span, in the trace the receiver's send span carried. */
  readonly telemetry?: Telemetry | undefined
  /** Each job delivery's `context.output`. */
  readonly outputs?: JobOutputs | undefined
  /** A state change was processed here: this process's waits learn it. */
  readonly onProcessed?: ((uuid: string, state: string) => void) | undefined
}

/**
 * The queue worker: a pipeline of its own whose step runs the handlers under a run claim beside the
 * callback's (`runClaimKey`), so that a job runs once across every worker, and whose success does not
 * wait for the store (BullMQ finishes the job next, and a finished job never runs again; a job retried
 * after a crash in between finds the mark, or the claim until its lease ends).
 */
export function openWorkerSide (bullmq: Bullmq, client: Redis | Cluster, options: ResolvedQueueOptions, parts: WorkerParts): WorkerSide {
  const { settings, store, dispatcher, verifier, superseded, observer, log, telemetry, outputs, onProcessed } = parts
  const step = new RunHandlers({ dispatcher, verifier, superseded, claimKeyOf: runClaimKey, awaitCompletion: false, outputs, onProcessed })
  const pipeline = new DeliveryPipeline({ settings, store, observer, step, telemetry })
  const connection = workerConnection(client)
  connection.on('error', () => {}) // BullMQ reports through the worker's 'error' event
  const worker = createBullmqWorker({ bullmq, connection, options, pipeline, leaseMs: settings.leaseMs, observer, log })
  let started = false
  return {
    worker,
    start () {
      if (started) return
      started = true
      worker.run().catch((err: unknown) => { log.error({ err }, 'superai-callbacks: queue worker stopped') })
    },
    async close () {
      // BullMQ's close lets the running jobs finish (and be marked), then closes its connections
      await worker.close()
      await pipeline.drain()
      await quitRedis(connection)
    }
  }
}
