import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { fork } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import tap, { test } from 'tap'
import superaiCallbacks from '../../src/index.js'
import { createSandbox } from '../../src/sandbox/index.js'
import type { OtelWorkerMessage } from '../fixtures/otel-worker.js'
import { REDIS_URL, cleanUpAtTeardown, uniquePrefix } from '../helpers/callbacks.js'
import { childEnv } from '../helpers/child-env.js'
import { otelHarness, spanRecord, traceTree, type SpanRecord } from '../helpers/otel.js'
import { removeQueueAtTeardown, uniqueQueue } from '../helpers/queue.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/otel-worker.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DOCS = new URL('../../docs/observability.md', import.meta.url)

const otel = otelHarness()
tap.teardown(() => otel.close())

/** The trace picture of docs/observability.md: the fenced block after its marker. */
async function documentedPicture (): Promise<string | undefined> {
  const docs = await readFile(DOCS, 'utf8')
  return /<!-- trace picture: test\/telemetry\/queue\.test\.ts -->\n```text\n([\s\S]*?)\n```/.exec(docs)?.[1]
}

test('queue mode, the worker in another process: one trace from the receiver\'s process and send spans to each try, with the submission link', async (t) => {
  const sandbox = await createSandbox({ step: 0, duplicates: 0 })
  t.teardown(() => sandbox.close())
  const queue = uniqueQueue({ attempts: 3, backoff: { type: 'fixed', delay: 50 } })
  removeQueueAtTeardown(t, queue)
  const keyPrefix = uniquePrefix('otel-queue')
  cleanUpAtTeardown(t, keyPrefix)

  // the receiver: @fastify/otel, then the plugin, in queue mode running no job itself
  const app = Fastify()
  await app.register(otel.fastifyOtel.plugin())
  await app.register(superaiCallbacks, {
    redis: REDIS_URL, keyPrefix, ttl: 600, queue: { ...queue, concurrency: 0 }, telemetry: true, api: { apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl }
  })
  app.post('/documents', async function submitDocument () {
    return { uuid: (await app.superai.api.submitJobs('otel-project', { inputs: [{ document: 'a.pdf' }] })).uuid }
  })
  t.teardown(() => app.close())
  await app.ready()

  const child = fork(FIXTURE, [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: childEnv({
      OTEL_REDIS_URL: REDIS_URL,
      OTEL_KEY_PREFIX: keyPrefix,
      OTEL_QUEUE: JSON.stringify({ ...queue, concurrency: 1 }),
      OTEL_API_URL: sandbox.baseUrl,
      OTEL_API_KEY: sandbox.apiKey
    }),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  const messages: OtelWorkerMessage[] = []
  const next = async (type: OtelWorkerMessage['type']): Promise<OtelWorkerMessage> => await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the worker sent no "${type}" message`)) }, 20_000)
    const look = (): void => {
      const found = messages.find((message) => message.type === type)
      if (found !== undefined) { clearTimeout(timer); resolve(found) } else child.once('message', (message: OtelWorkerMessage) => { messages.push(message); look() })
    }
    look()
  })
  await next('ready')

  const { uuid } = (await app.inject({ method: 'POST', url: '/documents' })).json<{ uuid: string }>()
  sandbox.advance(uuid, 'COMPLETED')
  const response = await app.inject({
    method: 'POST', url: '/superai/callbacks/', payload: { id: String(sandbox.job(uuid)?.id), uuid, state: 'COMPLETED', action: 'RESOLVED' }
  })
  t.equal(response.statusCode, 202)
  const reported = await next('spans')
  const worker = reported.type === 'spans' ? reported.spans : []
  const receiver = otel.spans().map(spanRecord)

  const anchor = receiver.find((span) => span.name === 'handler - submitDocument')
  t.ok(anchor !== undefined, 'the submission ran in @fastify/otel\'s handler span')
  const received = receiver.filter((span) => span.name === 'process superai.callback')
  t.equal(received.length, 1)
  const [queued] = received as [SpanRecord]
  t.equal(queued.kind, SpanKind.CONSUMER)
  t.match(queued.attributes, { 'superai.delivery.outcome': 'queued', 'superai.delivery.source': 'http', 'superai.job.uuid': uuid })
  t.same(queued.links, [{ traceId: anchor?.traceId, spanId: anchor?.spanId }], 'the receiver\'s span links to the submission')
  const send = receiver.find((span) => span.name === 'send superai.callbacks')
  t.equal(send?.kind, SpanKind.PRODUCER)
  t.equal(send?.parentSpanId, queued.spanId, 'the send span is the receiver\'s process span\'s child')
  t.match(send?.attributes, { 'messaging.system': 'superai', 'messaging.operation.type': 'send', 'messaging.destination.name': 'superai.callbacks' })

  const tries = worker.filter((span) => span.name === 'process superai.callback').sort((a, b) => a.startNs - b.startNs)
  t.same(tries.map((span) => span.attributes['superai.delivery.attempt']), [1, 2], 'a span per try, with its attempt number')
  t.same(tries.map((span) => span.attributes['superai.delivery.outcome']), ['failed', 'processed'])
  t.same(tries.map((span) => span.status), [SpanStatusCode.ERROR, SpanStatusCode.UNSET])
  for (const span of tries) {
    t.equal(span.traceId, queued.traceId, 'the worker\'s try is in the receiver\'s trace')
    t.equal(span.parentSpanId, send?.spanId, 'the child of the send span')
    t.equal(span.attributes['superai.delivery.source'], 'queue')
    t.same(span.links, [{ traceId: anchor?.traceId, spanId: anchor?.spanId }], 'the worker\'s span links to the submission, read from the shared store')
    const children = worker.filter((other) => other.parentSpanId === span.spanId).map((other) => other.name).sort()
    t.same(children, ['GET /v1/jobs/{uuid}', 'job.completed'], 'verify\'s call and the handler run under each try')
  }

  // the picture in docs/observability.md is this run's trace tree (trace ids vary from run to run)
  // less @fastify/otel's span around the callback route's handler, a sibling of the delivery's span that
  // starts before or after it from one run to the next
  const shown = [...receiver, ...worker].filter((span) => !(span.name === 'handler - handler' && span.traceId === queued.traceId))
  const picture = traceTree(shown).replace(/^trace [0-9a-f]{8}$/gm, 'trace')
  t.comment(`\n${picture}`)
  t.equal(await documentedPicture(), picture, 'docs/observability.md shows the trace this test renders')
})
