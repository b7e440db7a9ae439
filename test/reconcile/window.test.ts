import { test } from 'tap'
import { FULL_PASS_EVERY_MS, OVERLAP_MS, parseWatermark, passWindow } from '../../src/reconcile/window.js'

const DAY = 86_400_000
const now = Date.parse('2024-03-11T09:16:05.250Z')

test('the whole lookback without a watermark, on request, or once the last whole-window pass is an hour old', async (t) => {
  const end = Date.parse('2024-03-11T09:16:06Z')
  t.same(passWindow(false, undefined, now, DAY), { from: now - DAY, to: end, full: true }, 'first pass: whole window, end rounded up to the second')
  t.same(passWindow(true, { since: now - 300_000, fullAt: now - 60_000 }, now, DAY), { from: now - DAY, to: end, full: true })
  t.same(passWindow(false, { since: now - 300_000, fullAt: now - FULL_PASS_EVERY_MS }, now, DAY).full, true)
})

test('otherwise what completed since the previous pass began, less the overlap, never beyond lookback', async (t) => {
  t.same(passWindow(false, { since: now - 300_000, fullAt: now - 600_000 }, now, DAY),
    { from: now - 300_000 - OVERLAP_MS, to: Date.parse('2024-03-11T09:16:06Z'), full: false })
  t.equal(passWindow(false, { since: now - 2 * DAY, fullAt: now - 600_000 }, now, DAY).from, now - DAY, 'capped at lookback')
})

test('a watermark is read back only when it is one', async (t) => {
  t.same(parseWatermark('{"since":1,"fullAt":2}'), { since: 1, fullAt: 2 })
  t.equal(parseWatermark(undefined), undefined)
  t.equal(parseWatermark('not json'), undefined)
  t.equal(parseWatermark('{"since":"1"}'), undefined)
})
