import { randomUUID } from 'node:crypto'
import { getEventListeners, setMaxListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { JobWaiters, type StateChangeFeed } from '../../src/wait/job-waiters.js'

/** A feed that records what it was asked, watching at once (or after `delay` ms). */
function recordingFeed (delay = 0): { readonly log: string[], readonly make: (notify: (uuid: string, state: string) => void) => StateChangeFeed } {
  const log: string[] = []
  return {
    log,
    make: () => ({
      watch: async (uuid) => { log.push(`watch ${uuid}`); if (delay > 0) await sleep(delay) },
      unwatch: (uuid) => { log.push(`unwatch ${uuid}`) },
      close: async () => { log.push('close') }
    })
  }
}

const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length

test('arguments are checked at once, with a coded error naming each, and no wait begins', async (t) => {
  const feed = recordingFeed()
  let reads = 0
  const waiters = new JobWaiters({ feed: feed.make, processedStates: async () => { reads++; return [] } })
  const uuid = randomUUID()
  const cases: Array<[string, unknown, unknown]> = [
    ['uuid', 'job-1', undefined],
    ['uuid', 42, undefined],
    ['uuid', `${uuid}x`, undefined],
    ['states', uuid, { states: ['DONE'] }],
    ['states', uuid, { states: ['POST_PROCESSED'] }],
    ['states', uuid, { states: [] }],
    ['states', uuid, { states: 'COMPLETED' }],
    ['timeout', uuid, { timeout: 0 }],
    ['timeout', uuid, { timeout: 1.5 }],
    ['timeout', uuid, { timeout: '1000' }],
    ['signal', uuid, { signal: {} }],
    ['timout', uuid, { timout: 10 }],
    ['options', uuid, 'COMPLETED']
  ]
  for (const [name, id, options] of cases) {
    await t.rejects(waiters.waitFor(id as string, options as never), { code: 'FST_SUPERAI_INVALID_OPTION', message: new RegExp(`"${name}"`) }, `${name}: ${JSON.stringify(options ?? id)}`)
  }
  t.same(waiters.pending, { waits: 0, jobs: 0 })
  t.same(feed.log, [], 'nothing watched')
  t.equal(reads, 0, 'nothing read')
})

test('a processed state change resolves the waits for its state, and only those', async (t) => {
  const waiters = new JobWaiters()
  const uuid = randomUUID()
  const completed = waiters.waitFor(uuid)
  const reviewed = waiters.waitFor(uuid.toUpperCase(), { states: ['REVIEWED'] })
  const other = waiters.waitFor(randomUUID(), { timeout: 50 })
  await sleep(5)
  waiters.notify(uuid, 'POST PROCESSED')
  waiters.notify(uuid, 'COMPLETED')
  t.same(await completed, { uuid, state: 'COMPLETED' }, 'a default state: COMPLETED')
  t.same(waiters.pending, { waits: 2, jobs: 2 }, 'the wait for REVIEWED and the other job still wait')
  waiters.notify(uuid, 'REVIEWED')
  t.same(await reviewed, { uuid, state: 'REVIEWED' }, 'the uuid in any case')
  await t.rejects(other, { code: 'FST_SUPERAI_WAIT_TIMEOUT', statusCode: 504 }, 'another job\'s state changes never reach it')
  for (const state of ['FAILED', 'CANCELED', 'EXPIRED'] as const) {
    const job = randomUUID()
    const wait = waiters.waitFor(job)
    await sleep(1)
    waiters.notify(job, state)
    t.same(await wait, { uuid: job, state }, `${state} ends the default wait`)
  }
})

test('a state processed before the wait resolves it at once: the store is read after the job is watched', async (t) => {
  const feed = recordingFeed(20)
  const uuid = randomUUID()
  const waiters = new JobWaiters({
    feed: feed.make,
    processedStates: async (job) => { feed.log.push(`read ${job}`); return ['COMPLETED', 'POST PROCESSED'] }
  })
  t.same(await waiters.waitFor(uuid, { states: ['POST PROCESSED'] }), { uuid, state: 'POST PROCESSED' })
  t.same(feed.log, [`watch ${uuid}`, `read ${uuid}`, `unwatch ${uuid}`], 'watched, then read: nothing falls between the two')
  t.same(waiters.pending, { waits: 0, jobs: 0 })
})

test('timeout rejects with a coded error; an aborted signal with its reason; close() every pending wait', async (t) => {
  const waiters = new JobWaiters()
  const uuid = randomUUID()
  const started = Date.now()
  await t.rejects(waiters.waitFor(uuid, { timeout: 30, states: ['COMPLETED'] }),
    { code: 'FST_SUPERAI_WAIT_TIMEOUT', message: new RegExp(`${uuid} to COMPLETED was processed within 30 ms`) })
  t.ok(Date.now() - started >= 25)

  const controller = new AbortController()
  const aborted = waiters.waitFor(uuid, { signal: controller.signal })
  const reason = new Error('the client went away')
  controller.abort(reason)
  t.equal(await aborted.catch((e: unknown) => e), reason, 'the signal\'s reason itself')
  t.equal(getEventListeners(controller.signal, 'abort').length, 0)
  await t.rejects(waiters.waitFor(uuid, { signal: AbortSignal.abort(reason) }), reason, 'an aborted signal: rejected, nothing begun')
  t.same(waiters.pending, { waits: 0, jobs: 0 })

  const feed = recordingFeed()
  const closing = new JobWaiters({ feed: feed.make })
  const pending = [closing.waitFor(uuid), closing.waitFor(uuid, { states: ['REVIEWED'] }), closing.waitFor(randomUUID())]
  await closing.close()
  for (const wait of pending) await t.rejects(wait, { code: 'FST_SUPERAI_WAIT_CLOSED', statusCode: 503 })
  await t.rejects(closing.waitFor(uuid), { code: 'FST_SUPERAI_WAIT_CLOSED' }, 'after close')
  t.equal(feed.log.at(-1), 'close', 'the feed closed last')
  t.same(closing.pending, { waits: 0, jobs: 0 })
})

test('a failing store read rejects the wait with FST_SUPERAI_STORE_UNAVAILABLE and leaves nothing', async (t) => {
  const feed = recordingFeed()
  const down = new Error('connection refused')
  const waiters = new JobWaiters({ feed: feed.make, processedStates: async () => { throw down } })
  const uuid = randomUUID()
  await t.rejects(waiters.waitFor(uuid), { code: 'FST_SUPERAI_STORE_UNAVAILABLE', cause: down })
  t.same(waiters.pending, { waits: 0, jobs: 0 })
  t.same(feed.log, [`watch ${uuid}`, `unwatch ${uuid}`])
})

test('10,000 waits that resolve, time out or abort leave no listener, timer, map entry or subscription behind', async (t) => {
  const feed = recordingFeed()
  const waiters = new JobWaiters({ feed: feed.make, processedStates: async () => [] })
  const timersBefore = timers()
  const signal = new AbortController()
  // one signal shared by 3,333 waits on purpose: its listener count is what the test reads
  setMaxListeners(10_000, signal.signal)
  const jobs = Array.from({ length: 1000 }, () => randomUUID())
  const waits: Array<Promise<unknown>> = []
  for (let i = 0; i < 10_000; i++) {
    const uuid = jobs[i % jobs.length] as string
    const kind = i % 3
    waits.push(waiters.waitFor(uuid, kind === 0 ? {} : kind === 1 ? { timeout: 20, states: ['REVIEWED'] } : { signal: signal.signal, states: ['SUSPENDED'] })
      .then(() => 'resolved', (e: unknown) => e === signal.signal.reason ? 'aborted' : String((e as { code?: unknown }).code)))
  }
  t.same(waiters.pending, { waits: 10_000, jobs: 1000 })
  t.equal(getEventListeners(signal.signal, 'abort').length, 3333)
  t.equal(timers(), timersBefore + 10_000, 'one timer per wait while they wait')
  await sleep(1)
  for (const uuid of jobs) waiters.notify(uuid, 'COMPLETED')
  signal.abort()
  const outcomes = await Promise.all(waits)
  const count = (outcome: string): number => outcomes.filter((o) => o === outcome).length
  t.same([count('resolved'), count('FST_SUPERAI_WAIT_TIMEOUT'), count('aborted')], [3334, 3333, 3333])
  t.same(waiters.pending, { waits: 0, jobs: 0 }, 'no map entry')
  t.equal(getEventListeners(signal.signal, 'abort').length, 0, 'no listener')
  t.equal(timers(), timersBefore, 'no timer')
  const watched = feed.log.filter((line) => line.startsWith('watch')).length
  t.equal(watched, 1000, 'one watch per job, not per wait')
  t.equal(feed.log.filter((line) => line.startsWith('unwatch')).length, watched, 'every watch undone')
})
