import { test } from 'tap'
import { BATCH_STATES, EVENT_NAMES, JOB_ACTIONS, JOB_STATES } from '../src/index.js'
import { JOB_LIFECYCLE, entityEventNameOf, eventNameOf, lifecyclePosition, methodName } from '../src/events.js'

test('event names derive from the documented states and actions', async (t) => {
  t.same(EVENT_NAMES, [
    'job.failed', 'job.suspended', 'job.canceled', 'job.expired', 'job.completed', 'job.reviewed',
    'job.postProcessing', 'job.postProcessed', 'job.needsReview',
    'job.edited', 'job.tagAdded', 'job.tagRemoved', 'job.accepted', 'job.declined',
    'callback', 'batch.completed', 'batch.failed', 'batch.partialFailure', 'entity'
  ])
  t.ok(Object.isFrozen(EVENT_NAMES))
})

test('method names are on + PascalCase of the event', async (t) => {
  t.equal(methodName('job.completed'), 'onJobCompleted')
  t.equal(methodName('job.needsReview'), 'onJobNeedsReview')
  t.equal(methodName('job.tagRemoved'), 'onJobTagRemoved')
  t.equal(methodName('callback'), 'onCallback')
})

test('every documented state with RESOLVED maps to its state event', async (t) => {
  for (const state of JOB_STATES) {
    const name = eventNameOf(state, 'RESOLVED')
    t.ok(name !== undefined && EVENT_NAMES.includes(name), `${state} -> ${String(name)}`)
  }
  t.equal(eventNameOf('POST PROCESSED', 'RESOLVED'), 'job.postProcessed')
})

test('every other documented action maps to its action event, whatever the state', async (t) => {
  for (const action of JOB_ACTIONS.filter((a) => a !== 'RESOLVED')) {
    for (const state of JOB_STATES) {
      const name = eventNameOf(state, action)
      t.ok(name !== undefined && EVENT_NAMES.includes(name), `${state}/${action} -> ${String(name)}`)
    }
  }
  t.equal(eventNameOf('COMPLETED', 'TAG ADDED'), 'job.tagAdded')
})

test('an undocumented state or action has no named event', async (t) => {
  t.equal(eventNameOf('ARCHIVED', 'RESOLVED'), undefined)
  t.equal(eventNameOf('COMPLETED', 'COMMENTED'), undefined)
  t.equal(eventNameOf('completed', 'RESOLVED'), undefined, 'names are matched after normalisation, not here')
})

test('v2 events: batch events derive from the documented batch states, entity catches every v2 callback', async (t) => {
  t.same(EVENT_NAMES.slice(EVENT_NAMES.indexOf('callback') + 1), ['batch.completed', 'batch.failed', 'batch.partialFailure', 'entity'])
  t.same(BATCH_STATES, ['COMPLETED', 'FAILED', 'PARTIAL_FAILURE'], 'super.AI\'s spelling, with the underscore')
  t.equal(methodName('batch.partialFailure'), 'onBatchPartialFailure')
  t.equal(methodName('entity'), 'onEntity')
  t.equal(entityEventNameOf('batch', 'PARTIAL_FAILURE'), 'batch.partialFailure')
  t.equal(entityEventNameOf('batch', 'CANCELED'), undefined)
  t.equal(entityEventNameOf('project', 'COMPLETED'), undefined)
})

test('the lifecycle: same, behind (late), ahead (the API has not caught up), contradicts, unknown', async (t) => {
  const cases: Array<[callback: string, job: string, position: string]> = [
    ['COMPLETED', 'COMPLETED', 'same'],
    ['COMPLETED', 'POST PROCESSING', 'behind'],
    ['COMPLETED', 'POST PROCESSED', 'behind'],
    ['COMPLETED', 'NEEDS REVIEW', 'behind'],
    ['COMPLETED', 'REVIEWED', 'behind'],
    ['POST PROCESSED', 'COMPLETED', 'ahead'],
    ['COMPLETED', 'IN PROGRESS', 'ahead'],
    ['COMPLETED', 'SCHEDULED', 'ahead'],
    ['COMPLETED', 'PENDING', 'ahead'],
    ['COMPLETED', 'NEEDS WORK', 'ahead'],
    ['COMPLETED', 'FAILED', 'contradicts'],
    ['COMPLETED', 'CANCELED', 'contradicts'],
    ['FAILED', 'COMPLETED', 'contradicts'],
    ['REVIEWED', 'POST PROCESSED', 'contradicts'],
    ['POST PROCESSED', 'NEEDS REVIEW', 'contradicts'],
    // a paused job may resume: never refused for good
    ['COMPLETED', 'SUSPENDED', 'ahead'],
    ['EXPIRED', 'SUSPENDED', 'ahead'],
    ['SUSPENDED', 'IN PROGRESS', 'behind'],
    ['SUSPENDED', 'COMPLETED', 'behind'],
    ['SUSPENDED', 'CANCELED', 'behind'],
    ['SUSPENDED', 'POST PROCESSED', 'behind'],
    ['SUSPENDED', 'FAILED', 'behind'],
    ['ARCHIVED', 'COMPLETED', 'unknown'],
    ['COMPLETED', 'ARCHIVED', 'unknown']
  ]
  for (const [callback, job, position] of cases) t.equal(lifecyclePosition(callback, job), position, `${callback} vs job ${job}`)
})

test('every terminal state ends the lifecycle, and every state is in the table', async (t) => {
  for (const state of ['FAILED', 'CANCELED', 'EXPIRED', 'POST PROCESSED', 'REVIEWED'] as const) t.same(JOB_LIFECYCLE[state], [], state)
  t.same(Object.keys(JOB_LIFECYCLE).sort(), [...JOB_STATES, 'PENDING', 'SCHEDULED', 'IN PROGRESS', 'NEEDS WORK'].sort())
  t.ok(Object.isFrozen(JOB_LIFECYCLE))
})
