import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import Fastify from 'fastify'
import superaiCallbacks, { createSuperaiWorker } from '../../src/index.js'
import { REDIS_URL, callbackBody, cleanUpAtTeardown, uniquePrefix } from '../helpers/callbacks.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

test('app.close() during a running job: the job finishes, and no other worker runs it again', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const keyPrefix = uniquePrefix('queue-close')
  cleanUpAtTeardown(t, keyPrefix)
  const app = Fastify()
  await app.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix, lease: 2, queue })
  const events: string[] = []
  app.superai.on('callback', async () => {
    events.push('start')
    await sleep(500)
    events.push('end')
  })
  await app.ready()
  const reply = await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: callbackBody() })
  t.equal(reply.statusCode, 202)
  t.ok(await waitFor(() => events.length === 1))
  await app.close()
  t.same(events, ['start', 'end'], 'close waited for the running job')

  // a worker elsewhere, past the lease and a stalled check: it finds nothing to run
  const other = await createSuperaiWorker({ redis: REDIS_URL, keyPrefix, lease: 2, queue })
  t.teardown(async () => { await other.close() })
  let otherRuns = 0
  other.on('callback', () => { otherRuns++ })
  other.start()
  await sleep(2500)
  t.equal(otherRuns, 0)
  t.same(await other.queue.getJobCounts('completed', 'active', 'wait', 'delayed', 'failed'), { completed: 1, active: 0, wait: 0, delayed: 0, failed: 0 })
})
