/**
 * What the diagnostics channels cost a delivery, with and without a subscriber: `Observer.delivered` (the
 * counters and the delivery message) plus `traceHandlers` around a resolved handler run, per delivery.
 *
 *   npx tsx bench/observability-cost.ts [--deliveries=2000000]
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { parseArgs } from 'node:util'
import { DELIVERY_CHANNEL, HANDLE_CHANNEL, Observer, traceHandlers } from '../src/observability.js'
import type { SuperaiEvent } from '../src/schema.js'

const { values } = parseArgs({ options: { deliveries: { type: 'string', default: '2000000' } } })
const deliveries = Number(values.deliveries)
const event: SuperaiEvent = { id: '1', uuid: '00000000-0000-4000-8000-000000000000', state: 'COMPLETED', action: 'RESOLVED' }
const done = Promise.resolve(1)

/** ns per delivery over `deliveries`, the best of 5 rounds (the least disturbed by the machine). */
async function measure (): Promise<number> {
  const observer = new Observer()
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < deliveries; i++) {
      await traceHandlers(event, 'k', 'http', () => done)
      observer.delivered('processed', 'http', 0, event, 'k')
    }
    best = Math.min(best, Number(process.hrtime.bigint() - started) / deliveries)
  }
  return best
}

/** The same loop with neither: the floor the two calls are measured against. */
async function baseline (): Promise<number> {
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < deliveries; i++) await done
    best = Math.min(best, Number(process.hrtime.bigint() - started) / deliveries)
  }
  return best
}

const floor = await baseline()
const unsubscribed = await measure()
diagnosticsChannel.subscribe(DELIVERY_CHANNEL, () => {})
diagnosticsChannel.tracingChannel(HANDLE_CHANNEL).subscribe({ start () {}, end () {}, asyncStart () {}, asyncEnd () {}, error () {} })
const subscribed = await measure()
console.log(`per delivery, over ${deliveries.toLocaleString('en')} deliveries, best of 5 rounds:`)
console.log(`  no subscriber:          ${(unsubscribed - floor).toFixed(0)} ns above an empty loop (${unsubscribed.toFixed(0)} vs ${floor.toFixed(0)} ns)`)
console.log(`  a no-op subscriber each: ${(subscribed - floor).toFixed(0)} ns above it`)
