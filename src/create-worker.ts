import type { FastifyBaseLogger } from 'fastify'
import { assemble } from './assembly.js'
import type { SuperaiSubscriptions } from './delivery/dispatcher.js'
import type { SuperaiStats } from './observability.js'
import { resolveOptions, type SuperaiCallbacksOptionFields } from './options.js'
import type { SuperaiDeadLetters, SuperaiQueue } from './queue/types.js'
import { invalid, optionNames, plainObject, rejectUnknown } from './validate.js'
import type { SuperaiClient } from './client/client.js'
import type { WaitForOptions, WaitResult } from './wait/job-waiters.js'

/** The plugin's options a worker shares with the receiving app, once: `Pick` checks each name against them. */
type SharedOption = 'redis' | 'queue' | 'keyPrefix' | 'lease' | 'ttl' | 'verify' | 'superseded' | 'api' | 'telemetry'

/**
 * A worker's options: the receiving app's `redis` (required; a client you pass is left open), `queue`
 * (its name and prefix; `concurrency` is this worker's; default `true`), `keyPrefix`, `lease` (how long
 * a job's run holds its claim and BullMQ lock: a dead worker's job is taken over after it), `ttl`,
 * `verify` (a callback that fails it is dropped), `superseded` and `api` (super.AI's API, which `verify`
 * falls back to), `telemetry`, plus a `logger`.
 */
export type SuperaiWorkerOptions = Pick<SuperaiCallbacksOptionFields, SharedOption> & {
  readonly redis: NonNullable<SuperaiCallbacksOptionFields['redis']>
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
  /** super.AI's API through the `api` option's key, as `app.superai.api`. */
  readonly api: SuperaiClient
  /** As `app.superai.waitFor`; `close()` rejects the pending waits. */
  waitFor (uuid: string, options?: WaitForOptions): Promise<WaitResult>
}

const WORKER_OPTIONS = optionNames<SuperaiWorkerOptions>({ redis: true, queue: true, keyPrefix: true, lease: true, ttl: true, verify: true, superseded: true, api: true, telemetry: true, logger: true })

/** Warnings and errors as JSON lines on stderr; the rest is dropped. */
function stderrLogger (bindings: Record<string, unknown> = {}): FastifyBaseLogger {
  const write = (level: string) => (first: unknown, ...rest: unknown[]): void => {
    const fields = typeof first === 'object' && first !== null ? first : { msg: String(first) }
    const msg = typeof first === 'object' && first !== null ? rest[0] : undefined
    const err = (fields as { err?: unknown }).err
    process.stderr.write(`${JSON.stringify({
      level,
time: Date.now(),
...bindings,
...fields,
...(msg === undefined ? {} : { msg }),
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
  plainObject('options', raw, 'an object')
  rejectUnknown(raw, WORKER_OPTIONS)
  if (raw.redis === undefined) throw invalid('redis', 'a worker needs the Redis its queue lives in')
  const { logger, queue: rawQueue, ...shared } = raw
  const options = resolveOptions({ ...shared, queue: rawQueue ?? true })
  const queueOptions = options.queue
  if (queueOptions === undefined) throw invalid('queue', 'expected true or queue settings')
  if (queueOptions.concurrency === 0) throw invalid('queue.concurrency', 'a worker runs at least one job at a time')
  const log = logger ?? stderrLogger({ name: 'superai-worker' })

  const { dispatcher, observer, queueSide, api, waiters, start, close } = await assemble(options, log)
  if (queueSide === undefined) {
    // queue mode on Redis always opens its queue; this only narrows the type
    await close()
    throw invalid('redis', 'a worker needs Redis')
  }

  let closing: Promise<void> | undefined
  return Object.freeze({
    ...dispatcher.subscriptions(),
    start,
    close: async () => {
      closing ??= close()
      await closing
    },
    stats: () => observer.stats(),
    queue: queueSide.queue,
    deadLetters: queueSide.deadLetters,
    api,
    waitFor: async (uuid: string, waitOptions?: WaitForOptions) => await waiters.waitFor(uuid, waitOptions)
  })
}
