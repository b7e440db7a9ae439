import { randomUUID } from 'node:crypto'
import type { Queue } from 'bullmq'
import { test } from 'tap'
import type { CallbackJobData, SuperaiEvent } from '../../src/index.js'
import { jobIdsOf } from '../../src/queue/job-id.js'
import { buildApp } from '../helpers/app.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

test('a job queued under an earlier build\'s id: run by the worker, listed and replayed by its key, and a redelivery never runs it twice', async (t) => {
  const queue = uniqueQueue({ attempts: 1 })
  removeQueueAtTeardown(t, queue)
  const { app, post, prefix } = await buildApp(t, { queue, idempotencyKey: (event) => event.uuid })
  let failing = true
  const runs: string[] = []
  app.superai.on('callback', async (event) => {
    runs.push(event.uuid)
    if (failing) throw new Error('down')
  })
  await app.ready()

  const event = { id: '7', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED' } as SuperaiEvent
  const key = prefix + event.uuid
  const [newId, legacyId] = jobIdsOf(key)
  const bull = app.superai.queue as Queue<CallbackJobData>
  // as an earlier build queued it: its own id form, the same data
  await bull.add('job.completed', { event, key }, { jobId: legacyId, attempts: 1, removeOnFail: { age: 600 } })

  t.ok(await waitFor(() => app.superai.stats().deadLettered === 1), 'the new worker ran it, and it failed')
  const [letter] = await app.superai.deadLetters?.list() ?? []
  t.equal(letter?.key, key, 'listed under its key')
  failing = false
  t.same(await app.superai.deadLetters?.replay([key]), { replayed: [key], missing: [] }, 'replay finds it under the old id')
  t.ok(await waitFor(() => app.superai.stats().processed === 1))
  t.same(runs, [event.uuid, event.uuid])

  // the receiver never stored this key (the old receiver would have): a redelivery enqueues it again,
  // under the new id; the worker finds the run already done and runs nothing
  const again = await post(event)
  t.equal(again.statusCode, 202)
  t.ok(await waitFor(async () => await (await bull.getJob(newId))?.isCompleted() === true), 'the second job completed')
  t.same(runs, [event.uuid, event.uuid], 'without running the handlers again')
  t.same((await post(event)).json(), { ok: true, duplicate: true }, 'and from now on the receiver knows it')
})
