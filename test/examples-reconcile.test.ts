import { test } from 'tap'
import { runExample } from './helpers/example.js'
import { startFakeSuperai } from './helpers/fake-superai.js'

test('examples/reconcile.ts runs the jobs whose callbacks never came and counts them on /metrics', async (t) => {
  const api = await startFakeSuperai(t)
  const appId = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'
  const jobs = [api.addJob({ appId }), api.addJob({ appId }), api.addJob({ appId, status: 'FAILED' })]
  const { port, output } = await runExample(t, 'examples/reconcile.ts', /Server listening/,
    { SUPERAI_API_KEY: api.apiKey, SUPERAI_APP_ID: appId, SUPERAI_BASE_URL: api.baseUrl })
  const metrics = async (): Promise<string> => await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const deadline = Date.now() + 10_000
  while (!/superai_missed_callbacks_total\{state="COMPLETED"\} 2/.test(await metrics()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  const text = await metrics()
  t.match(text, /superai_missed_callbacks_total\{state="COMPLETED"\} 2/, 'the first pass, at start, found the two completed jobs')
  t.match(text, /superai_missed_callbacks_total\{state="FAILED"\} 1/)
  t.match(text, /superai_reconcile_errors_total 0/)
  for (const job of jobs.slice(0, 2)) t.match(output(), new RegExp(`"uuid":"${job.uuid}","source":"reconcile","reconciled":true,"msg":"job completed"`))
  const again = await (await fetch(`http://127.0.0.1:${port}/reconcile`, { method: 'POST' })).json()
  t.same(again, { listed: 3, dispatched: 0, duplicate: 3, failed: 0 }, 'a manual pass finds them processed')
})

test('examples/reconcile.ts without an account: the sandbox\'s jobs, submitted with no callback URL, are found by the first pass', async (t) => {
  const { port, output } = await runExample(t, 'examples/reconcile.ts', /Server listening/)
  const metrics = async (): Promise<string> => await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const total = (text: string): number => [...text.matchAll(/superai_missed_callbacks_total\{state="\w+"\} (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0)
  const deadline = Date.now() + 10_000
  while (total(await metrics()) < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(total(await metrics()), 3, 'the three jobs of the sandbox')
  const jobs = [...output().matchAll(/([0-9a-f-]{36}) (COMPLETED|FAILED)/g)].map((match) => match[1])
  t.equal(jobs.length, 3)
  const again = await (await fetch(`http://127.0.0.1:${port}/reconcile`, { method: 'POST' })).json()
  t.same(again, { listed: 3, dispatched: 0, duplicate: 3, failed: 0 })
})
