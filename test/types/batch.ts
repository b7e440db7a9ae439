/** v2 (batch) events: narrowed like job events; job and v2 handlers do not fit each other. */
import Fastify from 'fastify'
import superaiCallbacks, {
  type AnySuperaiEvent, type BatchState, type EntityType, type EventName, type HandlerContext, type SuperaiBatch,
  type SuperaiEvent, type SuperaiHandler, type UnknownValue
} from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

const onBatchCompleted: SuperaiHandler<'batch.completed'> = (_event, _context) => {
  assertType<Equal<typeof _event.state, 'COMPLETED'>>()
  assertType<Equal<typeof _event.entityType, 'batch'>>()
  assertType<Equal<typeof _event.version, '2'>>()
  assertType<Equal<typeof _event.entityId, string>>()
  assertType<Equal<typeof _event.appId, string | undefined>>()
  assertType<Equal<typeof _event.extra, unknown>>()
  assertType<Equal<typeof _context.batch, SuperaiBatch | undefined>>()
}
assertType<Equal<Parameters<SuperaiHandler<'batch.completed'>>, [SuperaiEvent<'batch.completed'>, HandlerContext]>>()
assertType<Equal<SuperaiEvent<'batch.partialFailure'>['state'], 'PARTIAL_FAILURE'>>()
assertType<Equal<SuperaiEvent<'batch.failed'>['state'], 'FAILED'>>()
assertType<Equal<SuperaiEvent<'entity'>['state'], BatchState | UnknownValue>>()
assertType<Equal<SuperaiEvent<'entity'>['entityType'], EntityType | UnknownValue>>()
assertType<Equal<AnySuperaiEvent, SuperaiEvent | SuperaiEvent<'entity'>>>()
assertType<Equal<Extract<EventName, `batch.${string}`>, 'batch.completed' | 'batch.failed' | 'batch.partialFailure'>>()
// @ts-expect-error batch states keep super.AI's underscore
export type NoSpacedState = SuperaiEvent<'batch.partial failure'>
// a job event has no entityId, a batch event no uuid
assertType<Equal<SuperaiEvent<'job.completed'>['entityId'], unknown>>()
assertType<Equal<SuperaiEvent<'batch.completed'>['uuid'], unknown>>()

const app = Fastify()
await app.register(superaiCallbacks)
app.superai.onBatchCompleted(onBatchCompleted)
app.superai.on('batch.completed', onBatchCompleted)
app.superai.onBatchFailed((_event) => { assertType<Equal<typeof _event.state, 'FAILED'>>() })
app.superai.onBatchPartialFailure((_event) => { assertType<Equal<typeof _event.state, 'PARTIAL_FAILURE'>>() })
app.superai.onEntity((_event) => { assertType<Equal<typeof _event, SuperaiEvent<'entity'>>>() })
app.superai.on('entity', (event) => {
  if (event.entityType === 'batch' && event.state === 'PARTIAL_FAILURE') assertType<Equal<typeof event.entityId, string>>()
})
// @ts-expect-error a batch handler does not fit a job event
app.superai.onJobCompleted(onBatchCompleted)
// @ts-expect-error nor a job handler a batch event
app.superai.onBatchCompleted((event: SuperaiEvent<'job.completed'>) => event.uuid)
// @ts-expect-error there is no such method
app.superai.onBatchCanceled(() => {})
