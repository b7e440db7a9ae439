import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { signCallback } from '../src/index.js'
import { runExample } from './helpers/example.js'

// a file of its own: each example is a child process, and test/examples.test.ts already fills its time budget
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
