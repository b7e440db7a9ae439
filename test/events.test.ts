import { test } from 'tap'
import {
  EVENT_NAMES, JOB_ACTIONS, JOB_STATES, eventNameOf, methodName
} from '../src/index.js'

test('event names derive from the documented states and actions', async (t) => {
  t.same(EVENT_NAMES, [
    'job.failed', 'job.suspended', 'job.canceled', 'job.expired', 'job.completed', 'job.reviewed',
    'job.postProcessing', 'job.postProcessed', 'job.needsReview',
    'job.edited', 'job.tagAdded', 'job.tagRemoved', 'job.accepted', 'job.declined',
    'callback'
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
