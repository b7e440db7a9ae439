import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { test } from 'tap'
import superaiCallbacks, { type SuperaiEvent } from '../../src/index.js'
import { callbackBody } from '../helpers/callbacks.js'
import { startRedisServer } from '../helpers/redis-server.js'

/**
 * How many keys a callback of a new job leaves in Redis, counted with DBSIZE on a redis-server of this
 * test's own: one per callback with the default key, whatever its kind; a custom `idempotencyKey` keeps a
 * second key per job for its processed states.
 */
test('keys per callback of a new job, on a private Redis', async (t) => {
  const teardowns: Array<() => Promise<void>> = []
  t.teardown(async () => { for (const teardown of teardowns.reverse()) await teardown() })
  const server = await startRedisServer((fn) => { teardowns.push(fn) })
  const redis = new Redis(server.url)
  teardowns.push(async () => { await redis.quit() })

  const keysLeft = async (options: { readonly superseded?: 'skip', readonly idempotencyKey?: (event: SuperaiEvent) => string }, bodies: ReadonlyArray<Record<string, unknown>>): Promise<number> => {
    await redis.flushall()
    const app = Fastify()
    await app.register(superaiCallbacks, { redis: server.url, ...options })
    app.superai.on('callback', () => {})
    try {
      for (const payload of bodies) {
        const reply = await app.inject({ method: 'POST', url: '/superai/callbacks/', payload })
        t.equal(reply.statusCode, 200, reply.body)
      }
    } finally {
      await app.close()
    }
    return await redis.dbsize()
  }

  const uuid = randomUUID()
  const lifecycle = ['COMPLETED', 'POST PROCESSING', 'POST PROCESSED'].map((state) => callbackBody({ uuid, state }))
  t.equal(await keysLeft({}, [callbackBody()]), 1, 'a state change: its key, no key per job')
  t.equal(await keysLeft({}, lifecycle), 3, 'three states of one job: three keys')
  t.equal(await keysLeft({}, [...lifecycle, lifecycle[0] ?? {}]), 3, 'and a late redelivery adds none')
  t.equal(await keysLeft({ superseded: 'skip' }, [lifecycle[2] ?? {}, lifecycle[0] ?? {}]), 2, 'a state skipped as superseded: its key')
  t.equal(await keysLeft({}, [callbackBody({ action: 'EDITED' })]), 1, 'another action: one')
  t.equal(await keysLeft({}, [{ version: '2', entityType: 'batch', entityId: randomUUID(), state: 'COMPLETED' }]), 1, 'a batch callback: one')
  const custom = { idempotencyKey: (event: SuperaiEvent) => `${event.uuid}:${event.state}` }
  t.equal(await keysLeft(custom, [callbackBody()]), 2, 'a custom idempotencyKey: its key and the job\'s marks')
  t.equal(await keysLeft(custom, lifecycle), 4, 'three states of one job: three keys and one for the job')
})
