import type { Worker } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { DeliveryPipeline, Handoff } from '../delivery/pipeline.js'
import type { Observer } from '../observability.js'
import { quitRedis } from '../store/connection.js'
import type { Bullmq } from './bullmq.js'
import { DeadLetters } from './dead-letters.js'
import { enqueueHandoff } from './enqueue.js'
import { checkClusterPrefix, type ResolvedQueueOptions } from './options.js'
import type { CallbackJobData, SuperaiQueue } from './types.js'
import { createCallbackWorker, workerConnection } from './worker.js'

/** The queue side of queue mode, shared by the plugin and createSuperaiWorker. */
export interface QueueSide {
  readonly queue: SuperaiQueue
  readonly handoff: Handoff
  readonly deadLetters: DeadLetters
  /** Closes the Queue (its connection is the store's and stays open). */
  close (): Promise<void>
}

/** The callback queue on the store's own connection: commands fail fast, so a failed enqueue is a 503. */
export async function openQueue (bullmq: Bullmq, client: Redis | Cluster, options: ResolvedQueueOptions, ttlMs: number,
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
    handoff: enqueueHandoff(queue, options, ttlMs),
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

export function openWorker (bullmq: Bullmq, client: Redis | Cluster, options: ResolvedQueueOptions,
  parts: { readonly pipeline: DeliveryPipeline, readonly leaseMs: number, readonly observer: Observer, readonly log: FastifyBaseLogger }): WorkerSide {
  const connection = workerConnection(client)
  connection.on('error', () => {}) // BullMQ reports through the worker's 'error' event
  const worker = createCallbackWorker({ bullmq, connection, options, ...parts })
  let started = false
  return {
    worker,
    start () {
      if (started) return
      started = true
      worker.run().catch((err: unknown) => { parts.log.error({ err }, 'superai-callbacks: queue worker stopped') })
    },
    async close () {
      // BullMQ's close lets the running jobs finish (and be marked), then closes its connections
      await worker.close()
      await quitRedis(connection)
    }
  }
}
