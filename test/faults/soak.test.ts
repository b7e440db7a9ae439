import { test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import superaiCallbacks from '../../src/index.js'
import { callbackBody } from '../helpers/callbacks.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { deliverUntilAccepted, injectPoster, newTally, pool, statusCount, type Answer } from '../helpers/sender.js'

/**
 * Soak: two app instances share a Redis with AOF (fsync always) that is SIGKILLed and restarted on the same
 * port twice while handlers run. 1,500 callbacks, 30 % of them delivered again (a third of those at the
 * same time as the first delivery, to the other instance); the sender retries 409, 5xx and failed requests
 * as super.AI would. Nothing may be lost, and no handler may run twice.
 */

const CALLBACKS = 1500
const REDELIVERED = 0.3
const LEASE = 3
const KILLS = 2

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

test('soak: 1,500 callbacks, 30 % redelivered, two instances, Redis (AOF) killed twice mid-run: none lost, none run twice', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'superai-soak-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const server = await startRedisServer(t.teardown.bind(t), 15_000, {
    args: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]
  })
  const seed = Number(process.env.SOAK_SEED ?? 20261124)
  const random = prng(seed)

  const runs = new Map<string, number>()
  let running = 0
  const apps: FastifyInstance[] = []
  for (let i = 0; i < 2; i++) {
    const app = Fastify({ logger: false })
    t.teardown(async () => { await app.close() })
    await app.register(superaiCallbacks, { redis: server.url, keyPrefix: 'test:soak:', lease: LEASE })
    app.superai.on('callback', async (event) => {
      running++
      try {
        await sleep(2 + Math.floor(Math.random() * 5))
        runs.set(event.uuid, (runs.get(event.uuid) ?? 0) + 1)
      } finally {
        running--
      }
    })
    apps.push(app)
  }
  const posts = apps.map((app) => injectPoster(app))
  const postTo = (i: number) => async (body: unknown): Promise<Answer> => {
    const post = posts[i % 2]
    if (post === undefined) throw new Error('no such instance')
    return await post(body)
  }

  const bodies = Array.from({ length: CALLBACKS }, (_, i) => callbackBody({ id: String(i) }))
  const tally = newTally()
  const started = Date.now()
  const deadline = started + 90_000
  let accepted = 0
  const deliver = async (body: unknown, instance: number): Promise<void> => {
    if (await deliverUntilAccepted(postTo(instance), body, tally, { deadline }) !== undefined) accepted++
  }
  const tasks = bodies.map((body) => {
    const instance = Math.floor(random() * 2)
    const again = random() < REDELIVERED ? (random() < 1 / 3 ? 'concurrent' : 'later') : undefined
    return async () => {
      if (again === 'concurrent') {
        await Promise.all([deliver(body, instance), deliver(body, instance + 1)])
        return
      }
      await deliver(body, instance)
      if (again === 'later') {
        await sleep(Math.floor(random() * 200))
        await deliver(body, instance + 1)
      }
    }
  })

  const kills: Array<{ at: number, running: number, downMs: number }> = []
  // the deliveries and handlers count `accepted` and `running` while these loops poll them
  const acceptedSoFar = (): number => accepted
  const runningNow = (): number => running
  const killer = (async () => {
    for (let k = 1; k <= KILLS; k++) {
      while (acceptedSoFar() < (CALLBACKS * k) / (KILLS + 1) && Date.now() < deadline) await sleep(5)
      // mid-handler: wait (briefly) for handlers to be running
      const waitUntil = Date.now() + 1000
      while (runningNow() < 4 && Date.now() < waitUntil) await sleep(1)
      const at = Date.now()
      const busy = running
      await server.kill()
      await sleep(300)
      await server.restart()
      kills.push({ at: at - started, running: busy, downMs: Date.now() - at })
    }
  })()
  await pool(tasks, 24)
  await killer
  const deliveredMs = Date.now() - started

  // every callback once more, after the leases of anything a kill left claimed have run out
  await sleep(LEASE * 1000 + 500)
  const sweep = newTally()
  await pool(bodies.map((body, i) => async () => {
    await deliverUntilAccepted(postTo(i), body, sweep, { deadline: Date.now() + 30_000 })
  }), 24)

  const lost = bodies.filter((body) => (runs.get(String(body.uuid)) ?? 0) === 0).length
  const twice = bodies.filter((body) => (runs.get(String(body.uuid)) ?? 0) > 1).length
  t.equal(kills.length, KILLS, `Redis was killed ${KILLS} times mid-run`)
  t.ok(kills.every((kill) => kill.running > 0), `while handlers ran (${kills.map((kill) => kill.running).join(', ')} running)`)
  t.equal(tally.givenUp + sweep.givenUp, 0, 'every delivery was eventually accepted')
  t.equal(lost, 0, 'no callback lost')
  t.equal(twice, 0, 'no callback processed twice')
  t.equal(sweep.processed, 0, 'after the run every callback is remembered as processed')
  t.equal(sweep.duplicates, CALLBACKS)
  t.ok(statusCount(tally, 503) > 0, 'the kills were seen: 503s')

  const deliveries = tally.requests - tally.retries
  t.comment(`soak (seed ${seed}): ${CALLBACKS} callbacks, ${deliveries} deliveries (${deliveries - CALLBACKS} redeliveries), ` +
    `${tally.requests} requests: ${tally.processed} processed, ${tally.duplicates} duplicates, ${statusCount(tally, 503)} × 503, ` +
    `${statusCount(tally, 409)} × 409, ${statusCount(tally, 500)} × 500, ${tally.retries} retries; ` +
    `Redis killed ${kills.length}× (${kills.map((kill) => `at ${kill.at} ms with ${kill.running} handlers running, back after ${kill.downMs} ms`).join('; ')}); ` +
    `lost ${lost}, run twice ${twice}; delivered in ${deliveredMs} ms; sweep of ${CALLBACKS} redeliveries: ` +
    `${sweep.duplicates} duplicates, ${sweep.processed} processed again, ${statusCount(sweep, 409)} × 409`)
})
