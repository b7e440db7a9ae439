import type { Job, Worker } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { DeliveryPipeline } from '../delivery/pipeline.js'
import type { Observer } from '../observability.js'
import type { Bullmq } from './bullmq.js'
import { causeOf, tryFailure } from './failure-reason.js'
import type { ResolvedQueueOptions } from './options.js'
import type { CallbackJobData } from './types.js'
import { jobLog } from './job-log.js'
import { logFieldsOf } from '../schema.js'

/** BullMQ's stalled-job check runs this often at most, however long the lease. */
const MAX_STALLED_INTERVAL_MS = 30_000
/** After a Redis error the worker tries again this soon (BullMQ's 15 s would leave callbacks waiting after an outage). */
const RUN_RETRY_DELAY_MS = 1000

interface BullmqWorkerParts {
  readonly bullmq: Bullmq
  readonly pipeline: DeliveryPipeline
  /** A connection for the worker alone (BullMQ blocks on it); see `workerConnection`. */
  readonly connection: Redis | Cluster
  readonly options: ResolvedQueueOptions
  readonly leaseMs: number
  readonly observer: Observer
  readonly log: FastifyBaseLogger
}

/**
 * A connection BullMQ's worker may block on: a copy of `client` (same server, TLS, auth, Cluster or
 * Sentinel) that waits for Redis instead of failing fast, as BullMQ requires (`maxRetriesPerRequest: null`).
 */
export function workerConnection (client: Redis | Cluster): Redis | Cluster {
  // not lazy: a lazy copy (the store's client is one) left BullMQ's worker idle after a Redis restart
  const blocking = { maxRetriesPerRequest: null, enableOfflineQueue: true, commandTimeout: undefined, enableAutoPipelining: false, lazyConnect: false }
  if (client.isCluster) {
    const cluster = client as Cluster
    return cluster.duplicate(undefined, {
      ...blocking,
      redisOptions: { ...cluster.options.redisOptions, ...blocking }
    })
  }
  return (client as Redis).duplicate(blocking)
}

/**
 * The queue adapter of the pipeline: a BullMQ Worker (not started: `run()` it once the handlers are
 * subscribed) whose processor delivers each job's callback and maps the outcome to the job's fate.
 */
export function createBullmqWorker (parts: BullmqWorkerParts): Worker<CallbackJobData> {
  const { bullmq, pipeline, options, leaseMs, observer, log } = parts

  const processor = async (job: Job<CallbackJobData>, token?: string): Promise<void> => {
    const { event, key, trace } = job.data
    const attempt = job.attemptsMade + 1
    const runLog = jobLog(log, job.id, attempt)
    const outcome = await pipeline.deliver({ event, key, carrier: trace }, { source: 'queue', attempt }, runLog)
    switch (outcome.status) {
      case 'processed':
      case 'duplicate':
      case 'superseded':
        return
      case 'rejected':
        // verify refused it: super.AI does not back this callback, so no retry can help
        runLog.warn({ ...logFieldsOf(event), code: outcome.error.code, statusCode: outcome.error.statusCode, reason: outcome.error.message, source: 'queue' },
          'super.AI callback dropped by the queue worker, not retried: %s', outcome.error.message)
        return
      case 'inFlight':
        // another worker still holds the run claim (a stalled job taken over early): come back when it
        // is settled or expired, without spending one of the job's attempts
        if (token === undefined) throw new Error('the run claim is held by another worker')
        await job.moveToDelayed(Date.now() + outcome.retryAfter * 1000, token)
        throw new bullmq.DelayedError()
      default:
        // a handler failed, or the store or verify was unavailable: retried with backoff, then a dead letter
        throw tryFailure(bullmq.Backoffs, { attempt, key, job }, causeOf(outcome), outcome.status === 'failed' ? outcome.cause : 'error' in outcome ? outcome.error : undefined)
    }
  }

  const worker = new bullmq.Worker<CallbackJobData>(options.name, processor, {
    connection: parts.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    autorun: false,
    // the job's lock is the run claim's lease: a dead worker's job is taken over once both ran out
    lockDuration: leaseMs,
    stalledInterval: Math.min(MAX_STALLED_INTERVAL_MS, leaseMs),
    runRetryDelay: RUN_RETRY_DELAY_MS
  })
  worker.on('failed', (job, err) => {
    // finishedOn is set only when BullMQ gave up: the job is now in the failed set
    if (job === undefined || typeof job.finishedOn !== 'number' || job.finishedOn <= 0) return
    observer.count('deadLettered')
    log.error({ key: job.data.key, ...logFieldsOf(job.data.event), attempts: job.attemptsMade, reason: err.message },
      'super.AI callback is a dead letter: its handlers failed on every try; replay it with deadLetters.replay()')
  })
  worker.on('stalled', (jobId) => { log.warn({ jobId }, 'superai-callbacks: a queue job stalled (its worker died?); it is taken over') })
  worker.on('error', (err) => { log.error({ err }, 'superai-callbacks: queue worker error') })
  return worker
}
