import type { Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { IdempotencyStore } from '../../src/index.js'

/**
 * The behaviour every store must have, as subtests of `t`: on each implementation, on a Redis Cluster, and
 * on whatever store a user writes. Keys are `prefix` plus a letter.
 */
export function storeContract (t: Test, store: IdempotencyStore, prefix: string): void {
  const key = (k: string): string => prefix + k

  t.test('first claim wins, the second sees it in flight with the remaining lease', async (t) => {
    t.same(await store.claim(key('a'), 'token-1', 5000), { status: 'claimed' })
    const second = await store.claim(key('a'), 'token-2', 5000)
    t.equal(second.status, 'in-flight')
    t.ok(second.status === 'in-flight' && second.retryAfterMs > 4000 && second.retryAfterMs <= 5000, 'remaining lease')
  })

  t.test('completed keys answer processed until the ttl runs out', async (t) => {
    await store.claim(key('b'), 'token-1', 5000)
    t.equal(await store.complete(key('b'), 'token-1', 300), true)
    t.same(await store.claim(key('b'), 'token-2', 5000), { status: 'processed' })
    await sleep(400)
    t.same(await store.claim(key('b'), 'token-3', 5000), { status: 'claimed' }, 'claimable again after ttl')
  })

  t.test('release frees the key for the next delivery', async (t) => {
    await store.claim(key('c'), 'token-1', 5000)
    t.equal(await store.release(key('c'), 'token-1'), true)
    t.same(await store.claim(key('c'), 'token-2', 5000), { status: 'claimed' })
  })

  t.test('a stale owner can neither release nor complete a newer claim', async (t) => {
    await store.claim(key('d'), 'old', 100)
    await sleep(150)
    t.same(await store.claim(key('d'), 'new', 5000), { status: 'claimed' }, 'lease expired, taken over')
    t.equal(await store.release(key('d'), 'old'), false)
    t.equal(await store.complete(key('d'), 'old', 5000), false)
    const probe = await store.claim(key('d'), 'probe', 5000)
    t.equal(probe.status, 'in-flight', 'the new claim is intact')
    t.equal(await store.complete(key('d'), 'new', 5000), true)
    t.same(await store.claim(key('d'), 'probe', 5000), { status: 'processed' })
  })

  t.test('completing after the own lease ran out, with nobody else claiming, still records it', async (t) => {
    await store.claim(key('e'), 'slow', 50)
    await sleep(100)
    t.equal(await store.complete(key('e'), 'slow', 5000), true)
    t.same(await store.claim(key('e'), 'next', 5000), { status: 'processed' })
  })

  t.test('releasing a processed key does nothing', async (t) => {
    await store.claim(key('f'), 'token-1', 5000)
    await store.complete(key('f'), 'token-1', 5000)
    t.equal(await store.release(key('f'), 'token-1'), false)
    t.same(await store.claim(key('f'), 'token-2', 5000), { status: 'processed' })
  })

  t.test('concurrent claims on one key: exactly one wins', async (t) => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.claim(key('g'), `token-${i}`, 5000)))
    t.equal(results.filter((r) => r.status === 'claimed').length, 1)
    t.equal(results.filter((r) => r.status === 'in-flight').length, 49)
  })

  t.test('acquire takes a key once until it expires; read and write share a value', async (t) => {
    const { acquire, read, write } = store
    if (acquire === undefined || read === undefined || write === undefined) {
      t.pass('this store does not share a schedule (no reconciliation)')
      return
    }
    const results = await Promise.all(Array.from({ length: 20 }, () => acquire.call(store, key('h'), 200)))
    t.equal(results.filter(Boolean).length, 1, 'one of twenty concurrent acquires wins')
    t.equal(await acquire.call(store, key('h'), 200), false, 'held for its ttl')
    await sleep(250)
    t.equal(await acquire.call(store, key('h'), 200), true, 'taken again once expired')
    t.equal(await read.call(store, key('i')), undefined)
    await write.call(store, key('i'), '{"since":1}', 200)
    t.equal(await read.call(store, key('i')), '{"since":1}')
    await write.call(store, key('i'), '{"since":2}', 200)
    t.equal(await read.call(store, key('i')), '{"since":2}', 'a write replaces')
    await sleep(250)
    t.equal(await read.call(store, key('i')), undefined, 'expired')
  })
}
