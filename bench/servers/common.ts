/**
 * What every contender server shares: the environment it is started with, the one trivial handler, the
 * stats route the harness reads to check how often that handler ran, and the "LISTENING <port>" line.
 */
import { createHash } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import type { CallbackBody } from '../../src/index.js'
import { DEFAULTS } from '../../src/options.js'
import { CallbackAcceptedSchema, CallbackBodySchema } from '../../src/schema.js'

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** Every Redis key a contender writes starts with it, so that the harness can delete them all afterwards. */
export const PREFIX = process.env.BENCH_PREFIX ?? `superai-bench:adhoc:${process.pid}:`
/** The plugin's defaults, given to every contender so that they all remember a callback as long. */
export const PATH = DEFAULTS.path
export const TTL_SECONDS = DEFAULTS.ttl
export const LEASE_SECONDS = DEFAULTS.lease

/** The same schema for every route: the plugin's TypeBox body schema and its 200 reply. */
export const ROUTE_SCHEMA = {
  body: CallbackBodySchema,
  response: { 200: CallbackAcceptedSchema }
} as const

export type Body = CallbackBody

let handled = 0
/** A drain waiting for the handler count to reach a target (worker contenders). */
let waiter: { readonly target: number, readonly resolve: () => void } | undefined

/** The trivial handler every contender runs once per callback it decides to process. */
export function handleCallback (event: { readonly uuid: string }): void {
  if (event.uuid.length > 0) handled++
  if (waiter !== undefined && handled >= waiter.target) {
    waiter.resolve()
    waiter = undefined
  }
}

/** Resolves once the handler ran `target` times in all (true), or after `timeoutMs` (false). */
async function whenHandled (target: number, timeoutMs: number): Promise<boolean> {
  if (handled >= target) return true
  return await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { waiter = undefined; resolve(false) }, timeoutMs)
    waiter = { target, resolve: () => { clearTimeout(timer); resolve(true) } }
  })
}

/**
 * The key a careful hand-written route derives: the job uuid and a digest of the body, so that two different
 * callbacks of one job (another state, another edit) are not taken for duplicates of each other.
 */
export function bodyKey (body: Body): string {
  return `${body.uuid}:${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 16)}`
}

/** Adds the stats route (handler calls, CPU time used by the process), listens on an ephemeral loopback port, says so on stdout, and exits when told or orphaned. */
export async function serve (app: FastifyInstance, cleanup: () => Promise<void> = async () => {}): Promise<void> {
  app.get('/__bench/stats', async () => {
    const { user, system } = process.cpuUsage()
    return { handled, cpuMicros: user + system }
  })
  // a queue drain: answers once the handler ran `handled` times in all, with the time and CPU at that moment
  app.get<{ Querystring: { handled: string, timeoutMs?: string } }>('/__bench/wait', async (request) => {
    const done = await whenHandled(Number(request.query.handled), Number(request.query.timeoutMs ?? 60_000))
    // the system clock, read now: the harness compares it with its own. Not performance.timeOrigin + now():
    // the origin is fixed when a process starts, and on this machine the monotonic clock drifted seconds
    // from the system clock over a run (10,000 jobs drained in 0.7 s came out at 7.4 s)
    const at = Date.now()
    const { user, system } = process.cpuUsage()
    return { done, handled, cpuMicros: user + system, at }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  process.stdout.write(`LISTENING ${port}\n`)

  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => process.exit(0), 3000)
    force.unref()
    app.close().then(cleanup).catch(() => {}).finally(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  // the harness holds an IPC channel open; when it goes (harness killed), this server goes too
  process.on('disconnect', stop)
}

/** A Fastify instance configured the same way for every contender: no logger, defaults otherwise. */
export function createApp (): FastifyInstance {
  return Fastify({ logger: false })
}
