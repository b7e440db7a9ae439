import type { Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { IdempotencyStore, MarkedClaimResult } from '../../src/index.js'

/**
 * The behaviour every store must have, as subtests of `t`: on each implementation, on a Redis Cluster, and
 * on whatever store a user writes. Keys are `prefix` plus a letter.
 */
export function storeContract (t: Test, store: IdempotencyStore, prefix: string): void {
  const key = (k: string): string => prefix + k

  t.test('claimAndRead with an anchorKey answers the value stored there with every answer; without one, none', async (t) => {
    const { claimAndRead, completeAndMark, write } = store
    if (claimAndRead === undefined || completeAndMark === undefined || write === undefined) {
      t.pass('a store without claimAndRead or write links nothing')
      return
    }
    const anchor = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const anchorKey = key('{anchor-job}A')
    await write.call(store, anchorKey, anchor, 5000)
    const query = { stateKeys: [], stateBits: [], anchorKey }
    t.same(await claimAndRead.call(store, key('{anchor-job}C'), 't1', 5000, query), { status: 'claimed', marks: 0, anchor }, 'claimed')
    const inFlight = await claimAndRead.call(store, key('{anchor-job}C'), 't2', 5000, query)
    t.match(inFlight, { status: 'inFlight', anchor }, 'in flight')
    await completeAndMark.call(store, key('{anchor-job}C'), 't1', 5000, { stateKey: key('{anchor-job}C') })
    t.same(await claimAndRead.call(store, key('{anchor-job}C'), 't3', 5000, query), { status: 'processed', anchor }, 'processed')
    // with the job's states read too (the key of a completed state holds HANDLED), and two claims in one turn (a batch)
    const both = await Promise.all(['P', 'S'].map(async (letter) => await claimAndRead.call(store, key(`{anchor-job}${letter}`), 't4', 5000,
      { stateKeys: [key('{anchor-job}C')], stateBits: [16], anchorKey })))
    t.same(both, [{ status: 'claimed', marks: 16, anchor }, { status: 'claimed', marks: 16, anchor }], 'beside the marks, batched')
    // another slot on a Cluster (a custom key's job): read beside the script
    t.same(await claimAndRead.call(store, key('{other-slot}C'), 't5', 5000, query), { status: 'claimed', marks: 0, anchor }, 'an anchor in another slot')
    t.same(await claimAndRead.call(store, key('{anchor-job}E'), 't6', 5000, { stateKeys: [], stateBits: [], anchorKey: key('{anchor-none}A') }),
      { status: 'claimed', marks: 0 }, 'nothing stored: no anchor')
    t.same(await claimAndRead.call(store, key('{anchor-job}F'), 't7', 5000, { stateKeys: [], stateBits: [] }), { status: 'claimed', marks: 0 }, 'no anchorKey: none read')
  })

  t.test('first claim wins, the second sees it in flight with the remaining lease', async (t) => {
    t.same(await store.claim(key('a'), 'token-1', 5000), { status: 'claimed' })
    const second = await store.claim(key('a'), 'token-2', 5000)
    t.equal(second.status, 'inFlight')
    t.ok(second.status === 'inFlight' && second.retryAfterMs > 4000 && second.retryAfterMs <= 5000, 'remaining lease')
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
    t.equal(probe.status, 'inFlight', 'the new claim is intact')
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
    t.equal(results.filter((r) => r.status === 'inFlight').length, 49)
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

  t.test('marks: read with a claim, ORed in by a completion, never lost by concurrent completions', async (t) => {
    const { claimAndRead, completeAndMark } = store
    if (claimAndRead === undefined || completeAndMark === undefined) {
      t.pass('this store keeps no marks (no state change is ever superseded)')
      return
    }
    const claimRead = async (k: string, token: string, leaseMs: number, marksKey: string): Promise<MarkedClaimResult> =>
      await claimAndRead.call(store, k, token, leaseMs, { marksKey, stateKeys: [], stateBits: [] })
    const completeMark = async (k: string, token: string, ttlMs: number, marksKey: string, mark: number): Promise<boolean> =>
      await completeAndMark.call(store, k, token, ttlMs, { marksKey, mark })
    // on a Cluster these keys usually sit in different slots, the hash-tagged ones below in one
    for (const [name, claimKey, marksKey] of [['apart', key('m1'), key('marks-1')], ['one slot', key('{j2}m'), key('{j2}marks')]] as const) {
      t.same(await claimRead(claimKey + 'a', 'token-a', 5000, marksKey), { status: 'claimed', marks: 0 }, `${name}: no marks yet`)
      t.equal(await completeMark(claimKey + 'a', 'token-a', 5000, marksKey, 0b0100), true, `${name}: completed`)
      t.same(await claimRead(claimKey + 'a', 'token-x', 5000, marksKey), { status: 'processed' }, `${name}: the completion landed`)
      t.same(await claimRead(claimKey + 'b', 'token-b', 5000, marksKey), { status: 'claimed', marks: 0b0100 }, `${name}: the next claim reads the mark`)
      const inFlight = await claimRead(claimKey + 'b', 'token-c', 5000, marksKey)
      t.ok(inFlight.status === 'inFlight' && inFlight.retryAfterMs > 4000 && inFlight.retryAfterMs <= 5000, `${name}: in flight with the remaining lease`)
      t.equal(await completeMark(claimKey + 'b', 'token-b', 5000, marksKey, 0b0001), true)
      t.same(await claimRead(claimKey + 'c', 'token-d', 5000, marksKey), { status: 'claimed', marks: 0b0101 }, `${name}: ORed, not replaced`)
      t.equal(await completeMark(claimKey + 'c', 'token-d', 5000, marksKey, 0b0100), true)
      t.same(await claimRead(claimKey + 'd', 'token-e', 5000, marksKey), { status: 'claimed', marks: 0b0101 }, `${name}: a bit already there changes nothing`)
    }
  })

  t.test('marks: concurrent completions of one job each add their bit', async (t) => {
    const { claimAndRead, completeAndMark } = store
    if (claimAndRead === undefined || completeAndMark === undefined) {
      t.pass('this store keeps no marks')
      return
    }
    for (let round = 0; round < 5; round++) {
      const marksKey = key(`marks-race-${round}`)
      const bits = Array.from({ length: 9 }, (_, i) => i)
      const query = { marksKey, stateKeys: [], stateBits: [] }
      await Promise.all(bits.map((i) => claimAndRead.call(store, key(`race-${round}-${i}`), `t${i}`, 5000, query)))
      const done = await Promise.all(bits.map((i) => completeAndMark.call(store, key(`race-${round}-${i}`), `t${i}`, 5000, { marksKey, mark: 1 << i })))
      t.ok(done.every(Boolean))
      t.same(await claimAndRead.call(store, key(`race-${round}-probe`), 'probe', 5000, query), { status: 'claimed', marks: 0b1_1111_1111 },
        `round ${round}: all nine bits, none lost to another completion`)
    }
  })

  t.test('marks: a stale owner\'s completion is refused but its mark is kept; marks expire ttl after the last completion', async (t) => {
    const { claimAndRead, completeAndMark } = store
    if (claimAndRead === undefined || completeAndMark === undefined) {
      t.pass('this store keeps no marks')
      return
    }
    const marksKey = key('marks-stale')
    const query = { marksKey, stateKeys: [], stateBits: [] }
    await claimAndRead.call(store, key('n'), 'old', 100, query)
    await sleep(150)
    t.same(await claimAndRead.call(store, key('n'), 'new', 5000, query), { status: 'claimed', marks: 0 }, 'taken over')
    t.equal(await completeAndMark.call(store, key('n'), 'old', 300, { marksKey, mark: 0b10 }), false, 'the claim is not the old owner\'s')
    t.equal((await store.claim(key('n'), 'probe', 5000)).status, 'inFlight', 'the new claim is intact')
    t.same(await claimAndRead.call(store, key('o'), 'o', 5000, query), { status: 'claimed', marks: 0b10 }, 'the handlers did succeed: marked')
    await sleep(400)
    t.same(await claimAndRead.call(store, key('p'), 'p', 5000, query), { status: 'claimed', marks: 0 }, 'expired after the ttl')
  })

  t.test('state keys: a completion that records its state in its own key; claims read the bits of the ones that hold it', async (t) => {
    const { claimAndRead, completeAndMark } = store
    if (claimAndRead === undefined || completeAndMark === undefined) {
      t.pass('this store keeps no job states')
      return
    }
    // one job's keys share a hash tag: one Cluster slot; the marks key (an earlier version's) does not
    const job = (letter: string): string => key(`{job-q}${letter}`)
    const marksKey = key('marks-q')
    const read = (k: string, token: string): Promise<MarkedClaimResult> =>
      claimAndRead.call(store, job(k), token, 5000, { marksKey, stateKeys: [job('R'), job('D'), job('N')], stateBits: [0b001, 0b010, 0b100] })
    t.same(await read('C1', 'a'), { status: 'claimed', marks: 0 }, 'nothing processed yet')
    t.equal(await completeAndMark.call(store, job('D'), 'x', 5000, { stateKey: job('D') }), true, 'D completed (no claim needed, as complete)')
    t.same(await store.claim(job('D'), 'again', 5000), { status: 'processed' }, 'a state key recorded is processed: a redelivery is a duplicate')
    t.same(await read('C2', 'b'), { status: 'claimed', marks: 0b010 }, 'its bit read with the next claim')
    await store.claim(job('R'), 'r', 5000)
    t.same(await read('C3', 'c'), { status: 'claimed', marks: 0b010 }, 'a state key merely claimed is not processed')
    t.equal(await store.complete(job('R'), 'r', 5000), true)
    t.same(await read('C4', 'd'), { status: 'claimed', marks: 0b010 }, 'nor one completed as stored (PROCESSED, what queue mode writes on enqueue)')
    t.equal(await completeAndMark.call(store, job('R:run'), 'w', 5000, { stateKey: job('R') }), true, 'a worker\'s run claim records it in the callback\'s key')
    t.same(await store.claim(job('R:run'), 'w2', 5000), { status: 'processed' }, 'the run claim itself processed')
    t.same(await read('C5', 'e'), { status: 'claimed', marks: 0b011 })
    await completeAndMark.call(store, key('marks-src'), 'm', 5000, { marksKey, mark: 0b100 })
    t.same(await read('C6', 'f'), { status: 'claimed', marks: 0b111 }, 'ORed with the marks key\'s bits, in the same claim')
    const { handled } = store
    if (handled !== undefined) {
      t.same(await handled.call(store, [job('R'), job('D'), job('N'), job('C6')]), [true, true, false, false], 'handled: the state keys that hold it')
      t.same(await handled.call(store, []), [])
    }
  })

  t.test('state keys: a stale owner\'s completion leaves the newer claim, and records nothing in it', async (t) => {
    const { claimAndRead, completeAndMark } = store
    if (claimAndRead === undefined || completeAndMark === undefined) {
      t.pass('this store keeps no job states')
      return
    }
    const stateKey = key('{job-s}C')
    await store.claim(stateKey, 'old', 100)
    await sleep(150)
    t.same(await store.claim(stateKey, 'new', 5000), { status: 'claimed' }, 'taken over')
    t.equal(await completeAndMark.call(store, stateKey, 'old', 5000, { stateKey }), false, 'not the old owner\'s')
    t.equal((await store.claim(stateKey, 'probe', 5000)).status, 'inFlight', 'the new claim is intact')
    t.equal(await completeAndMark.call(store, stateKey, 'new', 300, { stateKey }), true)
    t.same(await claimAndRead.call(store, key('{job-s}X'), 'x', 5000, { stateKeys: [stateKey], stateBits: [1] }), { status: 'claimed', marks: 1 })
    await sleep(400)
    t.same(await claimAndRead.call(store, key('{job-s}Y'), 'y', 5000, { stateKeys: [stateKey], stateBits: [1] }), { status: 'claimed', marks: 0 }, 'expired after the ttl')
  })

  t.test('handled: a job\'s processed states read at once, whether the completion announced them (waitFor) or not, until they expire', async (t) => {
    const { completeAndMark, handled } = store
    if (completeAndMark === undefined || handled === undefined) {
      t.pass('this store cannot tell a job\'s processed states')
      return
    }
    const job = (letter: string): string => key(`{job-h}${letter}`)
    const announce = { channel: key('{job-h}announced'), state: 'COMPLETED' }
    t.equal(await completeAndMark.call(store, job('A'), 'a', 300, { stateKey: job('A'), announce }), true, 'announced: recorded as any completion')
    t.equal(await completeAndMark.call(store, job('B:run'), 'b', 300, { stateKey: job('B'), announce }), true, 'a run claim\'s, announced')
    t.equal(await completeAndMark.call(store, job('C'), 'c', 300, { stateKey: job('C') }), true, 'not announced')
    t.equal(await store.complete(job('D'), 'd', 300), true, 'stored only (PROCESSED)')
    t.same(await handled.call(store, [job('A'), job('B'), job('C'), job('D'), job('B:run'), job('E')]), [true, true, true, false, false, false])
    await sleep(400)
    t.same(await handled.call(store, [job('A'), job('B'), job('C')]), [false, false, false], 'expired with the ttl')
  })
}
