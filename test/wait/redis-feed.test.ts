import { randomUUID } from 'node:crypto'
import { test, type Test } from 'tap'
import { Redis, type Cluster } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { JobWaiters } from '../../src/wait/job-waiters.js'
import { RedisStateFeed, processedChannel, subscriberOf } from '../../src/wait/redis-feed.js'
import { clientSettings } from '../../src/store/redis-defaults.js'
import { REDIS_URL, cleanUpAtTeardown, uniquePrefix } from '../helpers/callbacks.js'
import { waitFor as eventually } from '../helpers/queue.js'
import { ask, startRedisServer } from '../helpers/redis-server.js'

const quiet = { warn: () => {} } as unknown as FastifyBaseLogger

interface Instance {
  readonly waiters: JobWaiters
  /** Connections the feed opened. */
  readonly opened: Array<Redis | Cluster>
}

/** One instance as the plugin will assemble it: a store client with the plugin's settings, its waiters, their feed. */
async function instance (t: Test, keyPrefix: string, processedStates?: (uuid: string) => Promise<string[]>): Promise<Instance> {
  const store = new Redis(REDIS_URL, clientSettings({}))
  await store.connect()
  const opened: Array<Redis | Cluster> = []
  const waiters = new JobWaiters({
    processedStates,
    feed: (notify, recheck) => new RedisStateFeed({
      open: () => { const client = subscriberOf(store); opened.push(client); return client },
      keyPrefix,
      notify,
      recheck,
      log: quiet
    })
  })
  t.teardown(async () => {
    await waiters.close()
    await store.quit()
  })
  return { waiters, opened }
}

async function subscribers (redis: Redis, channel: string): Promise<number> {
  const [, count] = await redis.pubsub('NUMSUB', channel) as [string, number]
  return count
}

test('a PUBLISH on the job\'s channel resolves its waiters on every instance; the channel is dropped with its last waiter', async (t) => {
  const keyPrefix = uniquePrefix('wait-feed')
  const publisher = new Redis(REDIS_URL)
  t.teardown(async () => { await publisher.quit() })
  const a = await instance(t, keyPrefix)
  const b = await instance(t, keyPrefix)
  t.equal(a.opened.length, 0, 'no connection before the first wait')

  const uuid = randomUUID()
  const channel = processedChannel(keyPrefix, uuid)
  t.equal(channel, `${keyPrefix}processed:${uuid}`)
  const onA = a.waiters.waitFor(uuid)
  const onB = b.waiters.waitFor(uuid, { states: ['POST PROCESSED'] })
  t.ok(await eventually(async () => await subscribers(publisher, channel) === 2), 'both instances subscribed to the job')
  await publisher.publish(channel, 'COMPLETED')
  t.same(await onA, { uuid, state: 'COMPLETED' })
  t.same(b.waiters.pending, { waits: 1, jobs: 1 }, 'B waits for another state')
  await publisher.publish(processedChannel(`${keyPrefix}other:`, uuid), 'POST PROCESSED')
  await publisher.publish(channel, 'POST PROCESSED')
  t.same(await onB, { uuid, state: 'POST PROCESSED' })
  t.ok(await eventually(async () => await subscribers(publisher, channel) === 0), 'unsubscribed when the last waiter left')
})

test('one connection per process, opened at the first wait, however many jobs are awaited; closed on close()', async (t) => {
  const keyPrefix = uniquePrefix('wait-feed')
  const publisher = new Redis(REDIS_URL)
  t.teardown(async () => { await publisher.quit() })
  const a = await instance(t, keyPrefix)
  const jobs = Array.from({ length: 200 }, () => randomUUID())
  const waits = jobs.map(async (uuid) => await a.waiters.waitFor(uuid))
  t.ok(await eventually(async () => await subscribers(publisher, processedChannel(keyPrefix, jobs.at(-1) as string)) === 1))
  for (const uuid of jobs) await publisher.publish(processedChannel(keyPrefix, uuid), 'FAILED')
  t.same((await Promise.all(waits)).map((result) => result.state), jobs.map(() => 'FAILED'))
  t.equal(a.opened.length, 1, 'one extra connection')

  const pending = t.rejects(a.waiters.waitFor(randomUUID()), { code: 'FST_SUPERAI_WAIT_CLOSED' })
  await a.waiters.close()
  await pending
  t.equal(a.opened.length, 1)
  t.equal((a.opened[0] as Redis).status, 'end', 'the connection is closed')
})

test('submit, then wait: a state processed before the wait is read from the store after subscribing', async (t) => {
  const keyPrefix = uniquePrefix('wait-feed')
  cleanUpAtTeardown(t, keyPrefix)
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { await redis.quit() })
  // stands in for the store's record of a job's processed states (phase B reads the store's own)
  const marks = (uuid: string): string => `${keyPrefix}marks:${uuid}`
  const a = await instance(t, keyPrefix, async (uuid) => await redis.smembers(marks(uuid)))
  const uuid = randomUUID()
  await redis.sadd(marks(uuid), 'COMPLETED')
  await redis.publish(processedChannel(keyPrefix, uuid), 'COMPLETED')
  t.same(await a.waiters.waitFor(uuid, { timeout: 2000 }), { uuid, state: 'COMPLETED' }, 'the publication before the wait was missed; the store was not')
})

test('after the subscription connection comes back, what was processed meanwhile is read from the store', async (t) => {
  // a private server: the test drops its pub/sub connections
  const server = await startRedisServer(t.teardown.bind(t))
  const keyPrefix = uniquePrefix('wait-feed')
  const store = new Redis(server.url, clientSettings({}))
  store.on('error', () => {})
  await store.connect()
  const marks = (uuid: string): string => `${keyPrefix}marks:${uuid}`
  const opened: Array<Redis | Cluster> = []
  let rechecks = 0
  let reads = 0
  const waiters = new JobWaiters({
    processedStates: async (uuid) => { const states = await store.smembers(marks(uuid)); reads++; return states },
    feed: (notify, recheck) => new RedisStateFeed({
      open: () => { const client = subscriberOf(store); opened.push(client); return client },
      keyPrefix,
      notify,
      recheck: () => { rechecks++; recheck() },
      log: quiet
    })
  })
  t.teardown(async () => {
    await waiters.close()
    store.disconnect()
  })
  const uuid = randomUUID()
  const wait = waiters.waitFor(uuid, { timeout: 5000 })
  // subscribed, and the store read once after subscribing
  t.ok(await eventually(() => reads === 1))
  // processed while the subscription connection was down: the mark is written, its publication reached no
  // one (none is sent); then the connection drops and ioredis reconnects it (this private server's only
  // subscriber connection is the feed's)
  await ask(server.port, 'SADD', marks(uuid), 'COMPLETED')
  t.equal(await ask(server.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub'), 1)
  t.same(await wait, { uuid, state: 'COMPLETED' })
  t.ok(rechecks >= 1, 'a recheck after the reconnection')
  t.equal(opened.length, 1, 'ioredis reconnected the same connection')
})
