/** `context.output()` in job handlers (not in batch ones) and `waitFor` on the app and the worker. */
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import superaiCallbacks, {
  createSuperaiWorker, type HandlerContext, type JobHandlerContext, type JobOutput, type JobState, type SuperaiHandler, type WaitForOptions, type WaitResult
} from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

const Output = Type.Object({ response: Type.Object({ total: Type.Number() }) })

const takesNumber = (value: number): number => value

const app = Fastify()
await app.register(superaiCallbacks, { api: { apiKey: 'k' } })
app.superai.onJobCompleted(async (_event, context) => {
  assertType<Equal<typeof context.output, JobOutput>>()
  assertType<Equal<Awaited<ReturnType<typeof context.output<typeof Output>>>, { response: { total: number } }>>()
  takesNumber((await context.output(Output)).response.total)
  // @ts-expect-error without a schema the output is unknown
  takesNumber((await context.output()).response)
  // @ts-expect-error a schema is a TypeBox schema
  await context.output({ type: 'object' })
})
// every job event's handlers, in every source, have it
app.superai.on('callback', async (_event, context) => {
  if (context.source === 'reconcile') assertType<Equal<typeof context.output, JobOutput>>()
  if (context.source === 'queue') assertType<Equal<typeof context.attempt, number>>()
})
app.superai.onJobEdited(async (_event, context) => { await context.output() })
// a batch (v2) callback has no output
app.superai.on('entity', async (_event, context) => {
  assertType<Equal<typeof context, HandlerContext>>()
  // @ts-expect-error no output in a batch callback's context
  await context.output()
})
assertType<Equal<Parameters<SuperaiHandler<'job.failed'>>[1], JobHandlerContext>>()
assertType<Equal<Parameters<SuperaiHandler<'batch.completed'>>[1], HandlerContext>>()

export const waited = await app.superai.waitFor('0f8e3c1a-2b4d-4e6f-8a9b-1c2d3e4f5a6b', { states: ['COMPLETED', 'POST PROCESSED'], timeout: 1000, signal: AbortSignal.timeout(5000) })
assertType<Equal<typeof waited, WaitResult>>()
assertType<Equal<WaitResult['state'], JobState>>()
assertType<Equal<WaitForOptions['states'], readonly JobState[] | undefined>>()
// @ts-expect-error an undocumented state
await app.superai.waitFor('0f8e3c1a-2b4d-4e6f-8a9b-1c2d3e4f5a6b', { states: ['DONE'] })
// @ts-expect-error an unknown option
await app.superai.waitFor('0f8e3c1a-2b4d-4e6f-8a9b-1c2d3e4f5a6b', { poll: 100 })

export const worker = await createSuperaiWorker({ redis: 'redis://127.0.0.1:6379', api: { apiKey: 'k' } })
assertType<Equal<Awaited<ReturnType<typeof worker.waitFor>>, WaitResult>>()
worker.onJobCompleted(async (_event, context) => { await context.output(Output) })
