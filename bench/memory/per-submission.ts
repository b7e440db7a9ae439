/**
 * Redis memory per job submitted through `app.superai.api.submitJobs` with `telemetry: true` inside a span:
 * the trace context stored beside the job (and its batch) for its callbacks' links. `used_memory` and
 * DBSIZE growth on a private redis-server (started on a free port, killed at the end; FLUSHALL is this
 * run's own), over submissions of one input each to the sandbox, beside the keys' own `MEMORY USAGE`.
 * The same submissions with telemetry off write nothing (the last row).
 *
 *   npm run bench:memory:submission [-- --jobs=20000]
 */
import { parseArgs } from 'node:util'
import { trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { context } from '@opentelemetry/api'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import superaiCallbacks from '../../src/index.js'
import { createSandbox } from '../../src/sandbox/index.js'
import { startRedisServer } from '../../test/helpers/redis-server.js'
import { keysOwnBytes, usedMemory } from '../lib/redis.js'

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '20000' } } })
const JOBS = Number(values.jobs)
const AT_ONCE = 100

// a registered SDK with the default (always-on) sampler, no exporter: every span is sampled, so each submission stores its anchor
trace.setGlobalTracerProvider(new BasicTracerProvider())
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

const teardowns: Array<() => Promise<void>> = []
const server = await startRedisServer((fn) => { teardowns.push(fn) })
const redis = new Redis(server.url)
const sandbox = await createSandbox({ step: 0, duplicates: 0 })

async function row (telemetry: boolean): Promise<void> {
  await redis.flushall()
  const app = Fastify()
  await app.register(superaiCallbacks, { redis: server.url, telemetry, api: { apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl } })
  await app.ready()
  const before = await usedMemory(redis)
  const keysBefore = await redis.dbsize()
  const tracer = trace.getTracer('bench')
  for (let i = 0; i < JOBS; i += AT_ONCE) {
    await Promise.all(Array.from({ length: Math.min(AT_ONCE, JOBS - i) }, async () => {
      await tracer.startActiveSpan('submit', async (span) => {
        await app.superai.api.submitJobs('bench-project', { inputs: [{ document: 'a.pdf' }] })
        span.end()
      })
    }))
  }
  const bytes = (await usedMemory(redis) - before) / JOBS
  const keys = (await redis.dbsize() - keysBefore) / JOBS
  console.log(`| telemetry ${telemetry ? 'on' : 'off'} | ${bytes.toFixed(0)} | ${keys.toFixed(2)} | ${(await keysOwnBytes(redis) / JOBS).toFixed(0)} |`)
  await app.close()
}

try {
  console.log(`${JOBS} jobs submitted (one input each) per row, Redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]}\n`)
  console.log('| submissions | used_memory growth, bytes per job | keys per job | MEMORY USAGE of the keys, bytes per job |')
  console.log('| --- | ---: | ---: | ---: |')
  await row(true)
  await row(false)
} finally {
  redis.disconnect()
  await sandbox.close()
  for (const teardown of teardowns) await teardown()
}
