import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { RunningDeliveries } from '../../src/delivery/running.js'

test('idle at once when nothing runs', async (t) => {
  const running = new RunningDeliveries()
  await running.idle()
  await running.track(Promise.resolve())
  await running.idle()
  t.pass('neither wait hung')
})

test('track hands back what the delivery gave, and its rejection', async (t) => {
  const running = new RunningDeliveries()
  t.equal(await running.track(Promise.resolve('processed')), 'processed')
  await t.rejects(running.track(Promise.reject(new Error('boom'))), { message: 'boom' })
  await running.idle()
})

test('idle waits for every delivery tracked, a failed one included', async (t) => {
  const running = new RunningDeliveries()
  const settled: string[] = []
  const slow = running.track(sleep(60).then(() => { settled.push('slow') }))
  const failing = running.track(sleep(30).then(() => { settled.push('failing'); throw new Error('boom') }))
  failing.catch(() => {})
  await running.idle()
  settled.push('idle')
  t.same(settled, ['failing', 'slow', 'idle'])
  await slow
})

test('a delivery started while waiting is waited for too', async (t) => {
  const running = new RunningDeliveries()
  const settled: string[] = []
  running.track(sleep(30).then(() => { settled.push('first') }))
  setTimeout(() => { running.track(sleep(60).then(() => { settled.push('second') })) }, 10)
  await running.idle()
  settled.push('idle')
  t.same(settled, ['first', 'second', 'idle'])
})

test('two waiting at once are both released', async (t) => {
  const running = new RunningDeliveries()
  running.track(sleep(30))
  const both = await Promise.race([
    Promise.all([running.idle(), running.idle()]).then(() => 'both'),
    sleep(1000).then(() => 'stuck')
  ])
  t.equal(both, 'both')
})
