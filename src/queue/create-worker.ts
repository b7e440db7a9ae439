import type { FastifyBaseLogger } from 'fastify'
import { Dispatcher, type SuperaiSubscriptions } from '../delivery/dispatcher.js'
import { DeliveryPipeline } from '../delivery/pipeline.js'
import { JobVerifier, type VerifyOptions } from '../delivery/verify.js'
import { codes } from '../errors.js'
import { Observer, type SuperaiStats } from '../observability.js'
import { resolveOptions, type SuperaiCallbacksOptions } from '../options.js'
import { openStore } from '../plugin.js'
import { closeInOrder } from '../shutdown.js'
import { loadBullmq } from './bullmq.js'
import type { SuperaiQueueOptions } from './options.js'
import { openQueue, openWorker } from './queue-mode.js'
import type { SuperaiDeadLetters, SuperaiQueue } from './types.js'

export interface SuperaiWorkerOptions {
  /** The Redis the receiving app enqueues to: URL, ioredis options, or an ioredis `Redis`/`Cluster` (left open). */
  readonly redis: NonNullable<SuperaiCallbacksOptions['redis']>
  /** The receiving app's `queue` settings (name, prefix, attempts...); `concurrency` is this worker's. Default `true`. */
  readonly queue?: true | SuperaiQueueOptions
  /** As the receiving app's; the keys themselves travel in each job. */
  readonly keyPrefix?: string
  /** Seconds a job's run holds its claim and BullMQ lock: a dead worker's job is taken over after it. */
  readonly lease?: number
  /** Seconds a run is remembered as done. */
  readonly ttl?: number
  /** Fetch each callback's job from the super.AI API before the handlers; one that fails is dropped. */
  readonly verify?: VerifyOptions
  /** A pino-compatible logger (e.g. Fastify's `app.log`); by default warnings and errors go to stderr. */
  readonly logger?: FastifyBaseLogger
}

/** A queue worker apart from any Fastify server: the subscriptions of `app.superai`, then `start()`. */
export type SuperaiWorker = SuperaiSubscriptions & {
  /** Takes jobs from now on: subscribe the handlers first. */
  start (): void
  /** Stops taking jobs, lets the running ones finish, and closes every connection it opened. */
  close (): Promise<void>
  /** Counters since start (`processed`, `failed`, `deadLettered`, ...). */
  stats (): SuperaiStats
  readonly queue: SuperaiQueue
  readonly deadLetters: SuperaiDeadLetters
}

const WORKER_OPTIONS: ReadonlySet<string> = new Set(['redis', 'queue', 'keyPrefix', 'lease', 'ttl', 'verify', 'logger'])

/** Warnings and errors as JSON lines on stderr; the rest is dropped. */
function stderrLogger (bindings: Record<string, unknown> = {}): FastifyBaseLogger {
  const write = (level: string) => (first: unknown, ...rest: unknown[]): void => {
    const fields = typeof first === 'object' && first !== null ? first : { msg: String(first) }
    const msg = typeof first === 'object' && first !== null ? rest[0] : undefined
    const err = (fields as { err?: unknown }).err
    process.stderr.write(`${JSON.stringify({
      level, time: Date.now(), ...bindings, ...fields, ...(msg === undefined ? {} : { msg }),
      ...(err instanceof Error ? { err: { message: err.message, code: (err as { code?: unknown }).code } } : {})
    })}\n`)
  }
  const ignore = (): void => {}
  return {
    level: 'warn',
    fatal: write('fatal'),
    error: write('error'),
    warn: write('warn'),
    info: ignore,
    debug: ignore,
    trace: ignore,
    silent: ignore,
    child: (more: Record<string, unknown>) => stderrLogger({ ...bindings, ...more })
  } as unknown as FastifyBaseLogger
}

/**
 * A worker for queue mode in a process of its own (resolves once connected to Redis): it runs the
 * handlers of the callbacks a receiving app (`queue: { concurrency: 0 }` there, or not) enqueued.
 */
export async function createSuperaiWorker (raw: SuperaiWorkerOptions): Promise<SuperaiWorker> {
  if (typeof raw !== 'object' || raw === null) throw new codes.FST_SUPERAI_INVALID_OPTION('options', 'expected an object')
  for (const name of Object.keys(raw)) {
    if (!WORKER_OPTIONS.has(name)) throw new codes.FST_SUPERAI_INVALID_OPTION(name, 'unknown option')
  }
  if (raw.redis === undefined) throw new codes.FST_SUPERAI_INVALID_OPTION('redis', 'a worker needs the Redis its queue lives in')
  const { logger, queue: rawQueue, ...shared } = raw
  const options = resolveOptions({ ...shared, queue: rawQueue ?? true })
  const queueOptions = options.queue
  if (queueOptions === undefined) throw new codes.FST_SUPERAI_INVALID_OPTION('queue', 'expected true or queue settings')
  if (queueOptions.concurrency === 0) throw new codes.FST_SUPERAI_INVALID_OPTION('queue.concurrency', 'a worker runs at least one job at a time')
  const log = logger ?? stderrLogger({ name: 'superai-worker' })

  const bullmq = await loadBullmq()
  const { store, connection } = await openStore(log, options.store)
  if (connection === undefined) throw new codes.FST_SUPERAI_INVALID_OPTION('redis', 'a worker needs Redis')
  const observer = new Observer()
  const dispatcher = new Dispatcher()
  let queueSide
  try {
    queueSide = await openQueue(bullmq, connection.client, queueOptions, options.ttlMs, observer, log)
  } catch (err) {
    await connection.close()
    throw err
  }
  const verifier = options.verify === undefined ? undefined : new JobVerifier(options.verify)
  const pipeline = new DeliveryPipeline({ settings: options, store, dispatcher, verifier, observer })
  const workerSide = openWorker(bullmq, connection.client, queueOptions, { pipeline, leaseMs: options.leaseMs, observer, log })

  let closing: Promise<void> | undefined
  return Object.freeze({
    ...dispatcher.subscriptions(),
    start: () => { workerSide.start() },
    close: async () => {
      closing ??= closeInOrder({ workerSide, pipeline, queueSide, connection })
      await closing
    },
    stats: () => observer.stats(),
    queue: queueSide.queue,
    deadLetters: queueSide.deadLetters
  })
}
