import type { FastifyBaseLogger } from 'fastify'
import { test } from 'tap'
import { Settlement } from '../../src/delivery/settlement.js'
import { MemoryStore } from '../../src/store/memory.js'
import type { IdempotencyStore } from '../../src/store/store.js'

const silent = { info () {}, warn () {}, error () {}, debug () {}, fatal () {}, trace () {}, silent () {}, level: 'info', child () { return silent } } as unknown as FastifyBaseLogger

/** A store whose `complete` answers only when told, to see who waits for it. */
function heldStore (): { store: IdempotencyStore, answer: () => void, completes: () => number } {
  const inner = new MemoryStore()
  const held: Array<() => void> = []
  let completes = 0
  const store: IdempotencyStore = {
    claim: async (key, token, leaseMs) => await inner.claim(key, token, leaseMs),
    release: async (key, token) => await inner.release(key, token),
    complete: async (key, token, ttlMs) => {
      completes++
      await new Promise<void>((resolve) => { held.push(resolve) })
      return await inner.complete(key, token, ttlMs)
    }
  }
  return { store, answer: () => { for (const resolve of held.splice(0)) resolve() }, completes: () => completes }
}

test('a completion its caller does not await is sent at once, and flush waits for it', async (t) => {
  const { store, answer, completes } = heldStore()
  const settlement = new Settlement(store, { ttlMs: 60_000, leaseMs: 30_000 })
  t.same(await store.claim('k', 'token', 30_000), { status: 'claimed' })
  void settlement.complete('k', 'token', silent)
  t.equal(completes(), 1, 'sent at once')
  let flushed = false
  const flushing = settlement.flush().then(() => { flushed = true })
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(flushed, false, 'flush waits for the completion under way')
  answer()
  await flushing
  t.same(await store.claim('k', 'other', 30_000), { status: 'processed' }, 'the key is marked processed')
})

test('a completion not awaited that fails is retried, and the key answered in flight meanwhile', async (t) => {
  const inner = new MemoryStore()
  let failures = 1
  const store: IdempotencyStore = {
    claim: async (key, token, leaseMs) => await inner.claim(key, token, leaseMs),
    release: async (key, token) => await inner.release(key, token),
    complete: async (key, token, ttlMs) => {
      if (failures-- > 0) throw new Error('Redis is away')
      return await inner.complete(key, token, ttlMs)
    }
  }
  const settlement = new Settlement(store, { ttlMs: 60_000, leaseMs: 30_000 })
  await inner.claim('k', 'token', 30_000)
  void settlement.complete('k', 'token', silent)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(settlement.isPending('k'), true, 'owed to the store')
  await settlement.flush()
  t.equal(settlement.isPending('k'), false)
  t.same(await inner.claim('k', 'other', 30_000), { status: 'processed' }, 'recorded by the last try')
})
