import { test, type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { freePort } from './helpers/redis-server.js'
import { startFakeSuperai } from './helpers/fake-superai.js'

/** Starts an example as a user would (tsx), on a free port; resolves with its stdout so far once it listens. */
async function runExample (t: Test, file: string, ready: RegExp, env: Record<string, string> = {}): Promise<{ port: number, output: () => string }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const deadline = Date.now() + 20_000
  while (!ready.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`example did not start:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { port, output: () => output }
}

test('examples/basic.ts prints a curl command that works, and a repeat is a duplicate', async (t) => {
  const { port, output } = await runExample(t, 'examples/basic.ts', /curl .*-d '(.+)'\n/)
  const body = /-d '(.+)'/.exec(output())?.[1] ?? ''
  t.match(output(), `http://127.0.0.1:${port}/superai/callbacks/`)
  const send = async () => await (await fetch(`http://127.0.0.1:${port}/superai/callbacks/`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body
  })).json() as unknown
  t.same(await send(), { ok: true, duplicate: false })
  t.same(await send(), { ok: true, duplicate: true })
  t.match(output(), 'job completed: fetch its results here', 'the handler ran')
})

test('examples/existing-app.ts serves the callback route under its prefix beside the other routes', async (t) => {
  const { port } = await runExample(t, 'examples/existing-app.ts', /superai\/callbacks\//)
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  t.equal(health.status, 200)
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/superai/callbacks/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: '1', uuid: '5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f11', state: 'COMPLETED', action: 'RESOLVED' })
  })
  t.same(await res.json(), { ok: true, duplicate: false })
})

test('examples/metrics.ts counts deliveries by outcome on /metrics', async (t) => {
  const { port } = await runExample(t, 'examples/metrics.ts', /Server listening/)
  const body = JSON.stringify({ id: '1', uuid: '5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f12', state: 'COMPLETED', action: 'RESOLVED' })
  for (let i = 0; i < 2; i++) {
    await fetch(`http://127.0.0.1:${port}/superai/callbacks/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  }
  await fetch(`http://127.0.0.1:${port}/superai/callbacks/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  t.match(metrics, /superai_callback_deliveries_total\{outcome="processed",source="http",state="COMPLETED"\} 1/)
  t.match(metrics, /superai_callback_deliveries_total\{outcome="duplicate",source="http",state="COMPLETED"\} 1/)
  t.match(metrics, /superai_callback_deliveries_total\{outcome="rejected",source="http",state="none"\} 1/)
  t.match(metrics, /superai_callback_delivery_seconds_count\{outcome="processed"\} 1/)
})

test('examples/reconcile.ts runs the jobs whose callbacks never came and counts them on /metrics', async (t) => {
  const api = await startFakeSuperai()
  t.teardown(api.close)
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
