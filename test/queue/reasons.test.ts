import type { Job, Queue } from 'bullmq'
import { test } from 'tap'
import type { CallbackJobData } from '../../src/index.js'
import { formatDuration } from '../../src/queue/failure-reason.js'
import { encodeJobId } from '../../src/queue/job-id.js'
import { buildApp } from '../helpers/app.js'
import { callbackBody } from '../helpers/callbacks.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

test('queue mode: failedReason, as bull-board shows it, says which try failed, why, and what happens next', async (t) => {
  // a long fixed backoff: the job waits, delayed, long enough to read the first try's reason
  const queue = uniqueQueue({ attempts: 2, backoff: { type: 'fixed', delay: 1500 } })
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue, ttl: 600 })
  let key = ''
  app.superai.on('callback', async (_event, context) => {
    key = context.key
    throw new Error('the database is down')
  })
  app.superai.onJobCompleted(async () => {})
  await app.ready()
  t.equal((await post(callbackBody())).statusCode, 202)
  const bull = app.superai.queue as Queue<CallbackJobData>
  const job = async (): Promise<Job<CallbackJobData> | undefined> => key === '' ? undefined : await bull.getJob(encodeJobId(key))

  t.ok(await waitFor(async () => (await job())?.failedReason !== undefined), 'the first try failed')
  const first = await job()
  t.equal(await first?.getState(), 'delayed', 'waiting for its second try')
  t.equal(first?.failedReason,
    'Try 1 of 2 failed (1 of 2 callback handlers failed: the database is down); it is retried after the backoff, in 1.5 s')

  t.ok(await waitFor(() => app.superai.stats().deadLettered === 1), 'a dead letter after the second try')
  const last = await job()
  t.equal(await last?.getState(), 'failed')
  t.equal(last?.failedReason,
    'Try 2 of 2 failed (1 of 2 callback handlers failed: the database is down); the callback is now a dead letter, kept for 10 min: ' +
    `replay it with app.superai.deadLetters.replay([${JSON.stringify(key)}]) or superai-callbacks dead-letters replay`)
  t.notMatch(last?.failedReason, /redelivery/, 'no synchronous-mode advice')
  t.match(last?.stacktrace?.at(-1), /^FastifyError \[FST_SUPERAI_DEAD_LETTER\]: Try 2 of 2 failed.*\ncaused by Error: the database is down\n\s+at .*reasons\.test\.ts/,
    'the stack BullMQ keeps shows where the handler threw')
  const [letter] = await app.superai.deadLetters?.list() ?? []
  t.equal(letter?.reason, last?.failedReason, 'deadLetters.list() reads the same reason')
  t.equal(letter?.key, key)

  // bull-board's Retry: job.retry() without resetting the tries, so this one is past the tries allowed
  await last?.retry('failed')
  t.ok(await waitFor(async () => (await job())?.attemptsMade === 3), 'run once more')
  t.match((await job())?.failedReason, new RegExp(`^Try 3 \\(of 2 allowed: retried without resetting its tries\\) failed .*dead letter.*${escape(JSON.stringify(key))}`))
})

test('exponential backoff: the reason gives the wait BullMQ computes for the next try', async (t) => {
  const queue = uniqueQueue({ attempts: 3, backoff: { type: 'exponential', delay: 400 } })
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue })
  const reasons: string[] = []
  const bull = app.superai.queue as Queue<CallbackJobData>
  let key = ''
  app.superai.on('callback', async (_event, context) => {
    key = context.key
    const job = await bull.getJob(encodeJobId(key))
    if (job?.failedReason !== undefined) reasons.push(job.failedReason)
    throw new Error('still down')
  })
  await app.ready()
  await post(callbackBody())
  t.ok(await waitFor(() => app.superai.stats().deadLettered === 1))
  t.same(reasons, [
    'Try 1 of 3 failed (1 of 1 callback handlers failed: still down); it is retried after the backoff, in 400 ms',
    'Try 2 of 3 failed (1 of 1 callback handlers failed: still down); it is retried after the backoff, in 800 ms'
  ])
})

test('synchronous mode keeps its own wording: the 500 says a redelivery processes the callback again', async (t) => {
  const { app, post } = await buildApp(t)
  app.superai.on('callback', async () => { throw new Error('boom') })
  const reply = await post(callbackBody())
  t.equal(reply.statusCode, 500)
  t.same(reply.json(), {
    statusCode: 500,
    code: 'FST_SUPERAI_HANDLER_FAILED',
    error: 'Internal Server Error',
    message: '1 of 1 callback handlers failed; the callback will be processed again on redelivery'
  })
})

test('durations as people read them', async (t) => {
  t.equal(formatDuration(250), '250 ms')
  t.equal(formatDuration(1500), '1.5 s')
  t.equal(formatDuration(60_000), '1 min')
  t.equal(formatDuration(600_000), '10 min')
  t.equal(formatDuration(3_600_000), '1 h')
  t.equal(formatDuration(604_800_000), '7 days')
  t.equal(formatDuration(86_400_000), '1 day')
  t.equal(formatDuration(90_000), '90 s')
})
