import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import superaiCallbacks, { type SuperaiCallbacksOptions } from '../../src/index.js'
import { REDIS_URL, deleteUnder, testRedis, uniquePrefix } from './callbacks.js'

export interface TestApp {
  readonly app: FastifyInstance
  readonly prefix: string
  /** Every log line the app wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>
  /** POSTs a JSON body to the callback route. */
  post (body: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>
}

/** An app with the plugin on the real Redis under a unique prefix, cleaned up and closed at teardown. */
export async function buildApp (
  t: Test, options: SuperaiCallbacksOptions = {}, { memory = false, server = {} }: { memory?: boolean, server?: FastifyServerOptions } = {}
): Promise<TestApp> {
  const logs: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  const app = Fastify({ ...server, logger: { level: 'info', stream } })
  const prefix = options.keyPrefix ?? uniquePrefix('route')
  const usesRedis = options.store === undefined && !memory
  // a short ttl: the keys of a run killed before its teardown (a tap timeout) expire in minutes, not in a week;
  // the compiler cannot see that usesRedis excludes `store`
  await app.register(superaiCallbacks, { ...(usesRedis ? { redis: REDIS_URL } : {}), ttl: 600, ...options, keyPrefix: prefix } as SuperaiCallbacksOptions)
  t.teardown(async () => {
    await app.close()
    const redis = testRedis()
    await deleteUnder(redis, prefix)
    await redis.quit()
  })
  const path = options.path ?? '/superai/callbacks/'
  return {
    app,
    prefix,
    logs,
    post: (body, headers = {}) => app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body)
    })
  }
}

/** The warn lines (pino level 40) among `logs`. */
export const warnLines = (logs: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> =>
  logs.filter((line) => line.level === 40)
