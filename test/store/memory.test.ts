import { test } from 'tap'
import { MemoryStore, type MemoryStoreOptions } from '../../src/index.js'

test('the memory store never holds more than maxEntries keys', async (t) => {
  const store = new MemoryStore({ maxEntries: 100 })
  for (let i = 0; i < 1000; i++) {
    await store.claim(`k${i}`, 't', 60_000)
    await store.complete(`k${i}`, 't', 60_000)
    if (store.size > 100) t.fail(`size ${store.size} after ${i} deliveries`)
  }
  t.ok(store.size >= 98 && store.size <= 100, `evicts the oldest 1/64 at a time (size ${store.size})`)
  t.same(await store.claim('k999', 'x', 1000), { status: 'processed' }, 'the newest keys are kept')
  t.same(await store.claim('k0', 'x', 1000), { status: 'claimed' }, 'the oldest key was dropped')
})

test('expired keys are dropped when touched, on an injected clock', async (t) => {
  let now = 0
  const store = new MemoryStore({ now: () => now })
  await store.claim('a', 't', 1000)
  await store.complete('a', 't', 5000)
  now = 4999
  t.same(await store.claim('a', 'u', 1000), { status: 'processed' })
  now = 5000
  t.same(await store.claim('a', 'u', 1000), { status: 'claimed' })
  t.same(await store.claim('a', 'v', 1000), { status: 'inFlight', retryAfterMs: 1000 })
})

test('its options are validated with the coded error naming the option', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [{ maxEntries: 0 }, /"maxEntries"/],
    [{ maxEntries: 1.5 }, /"maxEntries"/],
    [{ now: 5 }, /"now"/],
    [{ maxEntries: 10, maxEntires: 10 }, /"maxEntires": unknown option/],
    [null, /"options"/]
  ]
  for (const [options, message] of bad) {
    t.throws(() => new MemoryStore(options as MemoryStoreOptions), { code: 'FST_SUPERAI_INVALID_OPTION', message })
  }
  t.equal(new MemoryStore({ maxEntries: 1 }).size, 0)
})
