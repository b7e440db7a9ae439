/**
 * Type tests: `tsc --noEmit` (part of `npm test`) fails if a narrowing breaks or an `@ts-expect-error`
 * stops being an error. The runtime part only checks that the file ran.
 */
import { test } from 'tap'
import Fastify from 'fastify'
import superaiCallbacks, {
  type EventName, type JobState, type SuperaiEvent, type SuperaiHandler, type UnknownValue
} from '../src/index.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
const assertType = <T extends true>(_proof?: T): void => {}

// handlers in other files are typed with the exported helpers
const onCompleted: SuperaiHandler<'job.completed'> = (_event, _context) => {
  assertType<Equal<typeof _event.state, 'COMPLETED'>>()
  assertType<Equal<typeof _event.action, 'RESOLVED'>>()
  assertType<Equal<typeof _event.id, string>>()
  assertType<Equal<typeof _event.postProcessingEnabled, boolean | undefined>>()
  assertType<Equal<typeof _context.key, string>>()
}
assertType<Equal<SuperaiEvent<'job.needsReview'>['state'], 'NEEDS REVIEW'>>()
assertType<Equal<SuperaiEvent<'job.tagAdded'>['action'], 'TAG ADDED'>>()
assertType<Equal<SuperaiEvent<'job.tagAdded'>['state'], JobState>>()
assertType<Equal<SuperaiEvent['state'], JobState | UnknownValue>>()
assertType<Equal<Extract<EventName, 'job.postProcessing'>, 'job.postProcessing'>>()

test('on() narrows the event to its name and rejects unknown names', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(superaiCallbacks)
  app.superai.on('job.completed', (event) => {
    assertType<Equal<typeof event.state, 'COMPLETED'>>()
    // @ts-expect-error a completed event is never FAILED
    if (event.state === 'FAILED') return
  })
  app.superai.onJobFailed((_event) => { assertType<Equal<typeof _event.state, 'FAILED'>>() })
  app.superai.onJobEdited((_event) => { assertType<Equal<typeof _event.action, 'EDITED'>>() })
  app.superai.onCallback((event) => {
    const extra: unknown = event.anythingElse
    void extra
  })
  app.superai.onJobCompleted(onCompleted)
  // @ts-expect-error unknown event names do not compile
  t.throws(() => app.superai.on('job.done', () => {}))
  // @ts-expect-error a handler typed for another event does not fit
  app.superai.onJobFailed(onCompleted)
  // @ts-expect-error there is no such method
  t.type(app.superai.onJobDone, 'undefined')
  t.pass('typed')
})
