/** Handler and event types: each event narrows `state`/`action`; handlers typed in other files fit where they belong. */
import Fastify from 'fastify'
import superaiCallbacks, {
  type EventName, type JobHandlerContext, type JobAction, type JobState, type SuperaiEvent, type SuperaiHandler, type UnknownValue
} from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

// handlers in other files are typed with the exported helpers
const onCompleted: SuperaiHandler<'job.completed'> = (_event, _context) => {
  assertType<Equal<typeof _event.state, 'COMPLETED'>>()
  assertType<Equal<typeof _event.action, 'RESOLVED'>>()
  assertType<Equal<typeof _event.id, string>>()
  assertType<Equal<typeof _event.uuid, string>>()
  assertType<Equal<typeof _event.postProcessingEnabled, boolean | undefined>>()
  assertType<Equal<typeof _context.key, string>>()
  // the rest of the body is kept, typed as unknown (Equal tells any apart)
  assertType<Equal<typeof _event.anythingElse, unknown>>()
}
assertType<Equal<Parameters<SuperaiHandler<'job.completed'>>, [SuperaiEvent<'job.completed'>, JobHandlerContext]>>()
assertType<Equal<SuperaiEvent<'job.needsReview'>['state'], 'NEEDS REVIEW'>>()
assertType<Equal<SuperaiEvent<'job.postProcessing'>['state'], 'POST PROCESSING'>>()
assertType<Equal<SuperaiEvent<'job.tagAdded'>['action'], 'TAG ADDED'>>()
assertType<Equal<SuperaiEvent<'job.tagAdded'>['state'], JobState>>()
assertType<Equal<SuperaiEvent['state'], JobState | UnknownValue>>()
assertType<Equal<SuperaiEvent['action'], JobAction | UnknownValue>>()
assertType<Equal<SuperaiEvent<'callback'>, SuperaiEvent>>()
assertType<Equal<Extract<EventName, 'job.postProcessing'>, 'job.postProcessing'>>()
// @ts-expect-error not an event name
export type NoSuchEvent = SuperaiEvent<'job.done'>

const app = Fastify()
await app.register(superaiCallbacks)
app.superai.on('job.completed', (event) => {
  assertType<Equal<typeof event.state, 'COMPLETED'>>()
  // @ts-expect-error a completed event is never FAILED
  if (event.state === 'FAILED') throw new Error('unreachable')
})
app.superai.onJobCompleted((_event) => { assertType<Equal<typeof _event.state, 'COMPLETED'>>() })
app.superai.onJobFailed((_event) => { assertType<Equal<typeof _event.state, 'FAILED'>>() })
app.superai.onJobEdited((_event) => { assertType<Equal<typeof _event.action, 'EDITED'>>() })
app.superai.onJobTagRemoved((_event) => { assertType<Equal<typeof _event.action, 'TAG REMOVED'>>() })
app.superai.onCallback((_event) => { assertType<Equal<typeof _event, SuperaiEvent>>() })
app.superai.onJobCompleted(onCompleted)
app.superai.on('job.completed', onCompleted)
const unsubscribe: () => void = app.superai.onJobCompleted(async () => {})
unsubscribe()
// @ts-expect-error unknown event names do not compile
app.superai.on('job.done', () => {})
// @ts-expect-error a handler typed for another event does not fit
app.superai.onJobFailed(onCompleted)
// @ts-expect-error nor under on()
app.superai.on('job.failed', onCompleted)
// @ts-expect-error there is no such method
app.superai.onJobDone(() => {})
// @ts-expect-error the decorator is read-only
app.superai = {} as typeof app.superai
