import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import superaiCallbacks, { EVENT_NAMES, type SuperaiQueueOptions } from '../../src/index.js'
import { REDIS_URL, deleteUnder } from './callbacks.js'
import { removeQueueAtTeardown, uniqueQueue } from './queue.js'
import type { SignatureOptions } from '../../src/signature/options.js'
import { childEnv } from './child-env.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** What the receiver saw, counted on the server side. */
export interface Receiver {
  /** The callback URL, on 127.0.0.1. */
  readonly url: string
  /** `callback` and `entity` handler runs per distinct callback (uuid, state, action, modifiedAt, tag; a batch's entityId and state). */
  readonly runs: Map<string, number>
  /** Named (`job.*`) handler runs, by event name. */
  readonly named: Map<string, number>
  /** Every body a `callback` or `entity` handler received. */
  readonly bodies: Array<Record<string, unknown>>
  /** Answers by status, 200s by `duplicate`, and 202s `queued`. */
  readonly answers: { total: number, byStatus: Map<number, number>, processed: number, duplicates: number, queued: number }
  /** Request headers of every delivery. */
  readonly headers: Array<Record<string, string | string[] | undefined>>
}

export interface ReceiverOptions {
  /** Use the test Redis (`REDIS_URL`) under a unique prefix (deleted at teardown) instead of memory. */
  readonly redis?: boolean
  /** Seconds a delivery holds its claim; also the Retry-After of a 409. */
  readonly lease?: number
  /** How long each `callback` handler takes, in ms. */
  readonly handlerDelay?: number
  /** The first N handler runs throw (the plugin answers 500 and releases the claim). */
  readonly failFirst?: number
  /** Queue mode on the test Redis (implies `redis`), in a queue of its own removed at teardown. */
  readonly queue?: SuperaiQueueOptions
  /** Require super.AI's signature, verified with this public key (the plugin's `signature.publicKey`). */
  readonly signature?: SignatureOptions['publicKey']
}

const keyOf = (body: Record<string, unknown>): string => body.version === '2'
  ? ['v2', body.entityType, body.entityId, body.state].map(String).join('|')
  : [body.uuid, body.state, body.action, body.modifiedAt ?? '', body.tag ?? ''].map(String).join('|')

/** The plugin on a free port of 127.0.0.1, counting what its handlers run; closed at teardown. */
export async function startReceiver (t: Test, options: ReceiverOptions = {}): Promise<Receiver> {
  const app = Fastify()
  const prefix = `test:cli:${randomUUID()}:`
  const receiver: Receiver = {
    url: '',
    runs: new Map(),
    named: new Map(),
    bodies: [],
    answers: { total: 0, byStatus: new Map(), processed: 0, duplicates: 0, queued: 0 },
    headers: []
  }
  let failures = options.failFirst ?? 0

  // Before the plugin, so that its route (in a child context) inherits them.
  app.addHook('onRequest', async (request) => { receiver.headers.push({ ...request.headers }) })
  app.addHook('onSend', async (_request, reply, payload) => {
    const { answers } = receiver
    answers.total++
    answers.byStatus.set(reply.statusCode, (answers.byStatus.get(reply.statusCode) ?? 0) + 1)
    if (reply.statusCode === 200 && typeof payload === 'string') {
      if ((JSON.parse(payload) as { duplicate?: boolean }).duplicate === true) answers.duplicates++
      else answers.processed++
    }
    if (reply.statusCode === 202 && typeof payload === 'string' && (JSON.parse(payload) as { queued?: boolean }).queued === true) answers.queued++
    return payload
  })
  const usesRedis = options.redis === true || options.queue !== undefined
  const queue = options.queue === undefined ? undefined : uniqueQueue(options.queue)
  if (queue !== undefined) removeQueueAtTeardown(t, queue)
  await app.register(superaiCallbacks, {
    keyPrefix: prefix,
    lease: options.lease ?? 1,
    ...(usesRedis ? { redis: REDIS_URL } : {}),
    ...(queue === undefined ? {} : { queue }),
    ...(options.signature === undefined ? {} : { signature: { publicKey: options.signature } })
  })

  const record = async (body: Record<string, unknown>): Promise<void> => {
    if (options.handlerDelay !== undefined) await new Promise((resolve) => setTimeout(resolve, options.handlerDelay))
    if (failures > 0) {
      failures--
      throw new Error('handler failed on purpose')
    }
    receiver.bodies.push(body)
    receiver.runs.set(keyOf(body), (receiver.runs.get(keyOf(body)) ?? 0) + 1)
  }
  app.superai.on('callback', async (event) => { await record(event) })
  app.superai.on('entity', async (event) => { await record(event) })
  for (const name of EVENT_NAMES) {
    if (name !== 'callback') app.superai.on(name, async () => { receiver.named.set(name, (receiver.named.get(name) ?? 0) + 1) })
  }

  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await app.close()
    if (usesRedis) {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
      try {
        await deleteUnder(redis, prefix)
      } finally {
        await redis.quit()
      }
    }
  })
  return { ...receiver, url: new URL('/superai/callbacks/', address).href }
}

/**
 * A receiver that does not deduplicate: every delivery is answered as new, 200 `duplicate: false`
 * (`processed`) or 202 `queued: true` (`queued`), as a receiver whose store forgot would.
 */
export async function startForgetfulReceiver (t: Test, answer: 'processed' | 'queued'): Promise<string> {
  const app = Fastify()
  app.post('/superai/callbacks/', async (_request, reply) => answer === 'processed'
    ? { ok: true, duplicate: false }
    : await reply.code(202).send({ ok: true, duplicate: false, queued: true }))
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return new URL('/superai/callbacks/', address).href
}

/** Whether the test Redis (`REDIS_URL`) answers, so that the Redis cases can be skipped without it. */
export async function redisAvailable (): Promise<boolean> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.ping() === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

export interface CliRun {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs the CLI from source as a child process (`node --import tsx src/cli.ts ...`), bounded in time.
 * `onSpawn` gets the child, e.g. to interrupt it.
 */
export async function runCli (args: readonly string[], { timeout = 60_000, onSpawn }: {
  readonly timeout?: number
  readonly onSpawn?: (child: ReturnType<typeof execFile>) => void
} = {}): Promise<CliRun> {
  return await new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT, timeout, maxBuffer: 16 * 1024 * 1024, env: childEnv({ NO_COLOR: '1' })
    }, (error, stdout, stderr) => {
      const failure = error as (Error & { code?: unknown, signal?: NodeJS.Signals | null }) | null
      resolve({
        code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
        signal: failure?.signal ?? null,
        stdout,
        stderr
      })
    })
    onSpawn?.(child)
  })
}

/** The one JSON document a `--json` run prints. */
export function jsonOf<T = Record<string, unknown>> (run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T
  } catch {
    throw new Error(`not JSON (exit ${String(run.code)}):\n${run.stdout}\n${run.stderr}`)
  }
}
