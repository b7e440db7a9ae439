import { test } from 'tap'
import { MAX_RETRY_AFTER_S, RetryAfterEstimate } from '../../src/delivery/retry-after.js'

const LEASE_LEFT_MS = 60_000

test('before any run is observed, a 409 asks for the shortest wait', async (t) => {
  t.equal(new RetryAfterEstimate().seconds(LEASE_LEFT_MS), 1)
})

test('jumps up at once to a slow run, in whole seconds rounded up', async (t) => {
  const estimate = new RetryAfterEstimate()
  estimate.observe(200)
  t.equal(estimate.seconds(LEASE_LEFT_MS), 1)
  estimate.observe(3200)
  t.equal(estimate.seconds(LEASE_LEFT_MS), 4, 'one slow run is enough')
})

test('decays by a tenth a run: a slow run is remembered for a while, not for ever', async (t) => {
  const estimate = new RetryAfterEstimate()
  estimate.observe(3200)
  const asked: number[] = []
  for (let run = 0; run < 16; run++) {
    estimate.observe(10)
    asked.push(estimate.seconds(LEASE_LEFT_MS))
  }
  // 3200 ms × 0.9ⁿ: 2880, 2592, 2333, 2100, 1890, ... 1004, 904, ...
  t.same(asked, [3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1])
})

test('a fast run does not lower a slower one at once', async (t) => {
  const estimate = new RetryAfterEstimate()
  estimate.observe(4500)
  estimate.observe(1)
  t.equal(estimate.seconds(LEASE_LEFT_MS), 5, '4500 × 0.9 = 4050 ms')
})

test(`bounded to 1..${MAX_RETRY_AFTER_S} s, however long the handlers take`, async (t) => {
  t.equal(MAX_RETRY_AFTER_S, 5)
  const estimate = new RetryAfterEstimate()
  estimate.observe(120_000)
  t.equal(estimate.seconds(LEASE_LEFT_MS), MAX_RETRY_AFTER_S)
  t.equal(estimate.seconds(0), 1, 'a lease running out now still asks for a second')
  t.equal(estimate.seconds(-5), 1, 'a store answering a negative lease left')
})

test('never more than the lease left: the claim is free to take once it expires', async (t) => {
  const estimate = new RetryAfterEstimate()
  estimate.observe(4800)
  t.equal(estimate.seconds(LEASE_LEFT_MS), 5)
  t.equal(estimate.seconds(2100), 3)
  t.equal(estimate.seconds(900), 1)
})
