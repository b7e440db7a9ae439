import { test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { forEachBounded, stateChangeOf } from '../../src/reconcile/state-changes.js'
import { documentedJob } from '../fixtures/superai-job.js'

test('a listed job stands for the state change its callback announces, or says why none', async (t) => {
  const uuid = '5F0C3C1E-8A4B-4F7E-9A56-2D1B7C9E0F10'
  t.same(stateChangeOf(documentedJob({ uuid, id: 42, status: 'POST_PROCESSED' })).event,
    { id: '42', uuid: uuid.toLowerCase(), state: 'POST PROCESSED', action: 'RESOLVED', reconciled: true })
  t.equal(stateChangeOf(documentedJob({ status: 'IN_PROGRESS' })).skipped, 'unannounced')
  t.equal(stateChangeOf(documentedJob({ status: 'ARCHIVED' })).skipped, 'undocumented')
  t.equal(stateChangeOf(documentedJob({ status: undefined })).skipped, 'incomplete')
  t.equal(stateChangeOf(documentedJob({ uuid: undefined })).skipped, 'incomplete')
})

test('forEachBounded runs at most `limit` visits at once, skips what takes no slot, and waits for every visit', async (t) => {
  async function * items (): AsyncGenerator<number> { for (let i = 0; i < 20; i++) yield i }
  let running = 0
  let most = 0
  const done: number[] = []
  await forEachBounded(items(), 3, new AbortController().signal, (i) => {
    if (i % 5 === 0) return undefined
    running++
    most = Math.max(most, running)
    return sleep(5).then(() => { running--; done.push(i) })
  })
  t.equal(most, 3)
  t.equal(done.length, 16, 'every visit that took a slot ended before it resolved')
})

test('forEachBounded stops reading once the signal aborts', async (t) => {
  const stop = new AbortController()
  let read = 0
  async function * items (): AsyncGenerator<number> { for (let i = 0; i < 100; i++) { read++; yield i } }
  await forEachBounded(items(), 2, stop.signal, async (i) => { if (i === 4) stop.abort() })
  t.equal(read, 5)
})
