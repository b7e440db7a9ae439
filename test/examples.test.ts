import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { signCallback } from '../src/index.js'
import { runExample } from './helpers/example.js'

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

test('examples/signed.ts: a signed callback is processed once, unsigned and tampered ones are 401; it takes keys made by the test', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'superai-signed-example-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }))
  await writeFile(join(dir, 'key.pem'), privateKey.export({ type: 'sec1', format: 'pem' }))

  const { port, output } = await runExample(t, 'examples/signed.ts', /tampered: .*\n/, { SUPERAI_PUBLIC_KEY: join(dir, 'pub.pem'), SIGN_KEY: join(dir, 'key.pem') })
  t.match(output(), /signed: +200 \{"ok":true,"duplicate":false\}/)
  t.match(output(), /again: +200 \{"ok":true,"duplicate":true\}/)
  t.match(output(), /unsigned: +401 .*FST_SUPERAI_SIGNATURE_MISSING/)
  t.match(output(), /tampered: +401 .*FST_SUPERAI_SIGNATURE_INVALID/)
  t.equal(output().match(/handler: job .* completed/g)?.length, 1, 'the handler ran once')

  // the running receiver checks against the test's public key: the test's own signature passes, another key's does not
  const url = `http://127.0.0.1:${port}/superai/callbacks/`
  const callback = { id: '2', uuid: '5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f13', state: 'COMPLETED', action: 'RESOLVED' }
  const ours = signCallback(callback, privateKey)
  t.equal((await fetch(url, { method: 'POST', headers: ours.headers, body: ours.body })).status, 200)
  const foreign = signCallback(callback, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)
  t.equal((await fetch(url, { method: 'POST', headers: foreign.headers, body: foreign.body })).status, 401)
})
