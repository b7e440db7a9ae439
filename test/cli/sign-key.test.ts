import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runCliHere as runCli } from '../helpers/cli.js'
import { jsonOf, startReceiver } from '../helpers/receiver.js'
import { startFakeSuperai } from '../helpers/fake-superai.js'
import { ecKeyPair } from '../helpers/signing.js'

const APP_ID = '2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'
const HEADER = 'x-superai-webhook-signature'

// each case runs the CLI as a child process
t.setTimeout(300_000)

const superai = ecKeyPair()
const stranger = ecKeyPair()
const dir = await mkdtemp(join(tmpdir(), 'superai-sign-key-'))
t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
const files = {
  sec1: join(dir, 'sec1.pem'),
  pkcs8: join(dir, 'pkcs8.pem'),
  stranger: join(dir, 'stranger.pem'),
  public: join(dir, 'public.pem'),
  garbage: join(dir, 'garbage.pem')
}
await writeFile(files.sec1, superai.sec1)
await writeFile(files.pkcs8, superai.pkcs8)
await writeFile(files.stranger, stranger.pkcs8)
await writeFile(files.public, superai.publicPem)
await writeFile(files.garbage, 'not a key at all')

t.test('send --sign-key (SEC1 and PKCS#8): a receiver requiring signatures processes it once, the repeats are duplicates', async (t) => {
  const receiver = await startReceiver(t, { signature: superai.publicPem })
  // each run sends its own callback: they can run side by side
  const [sec1, pkcs8, batch] = await Promise.all([
    runCli(['send', receiver.url, '--repeat', '3', '--sign-key', files.sec1, '--json']),
    runCli(['send', receiver.url, '--repeat', '3', '--sign-key', files.pkcs8, '--json']),
    runCli(['send', receiver.url, '--batch', 'PARTIAL_FAILURE', '--sign-key', files.pkcs8, '--json'])
  ])
  for (const run of [sec1, pkcs8]) {
    t.equal(run.code, 0, run.stderr)
    t.match(jsonOf(run), { ok: true, summary: { processed: 1, duplicates: 2, failed: 0 } })
  }
  t.equal(batch.code, 0, batch.stderr)
  t.equal(receiver.runs.size, 3, 'two job callbacks and a batch callback, each run once')
  t.same([...new Set(receiver.runs.values())], [1])
  t.ok(receiver.headers.every((headers) => typeof headers[HEADER] === 'string'), 'every delivery carried the signature')
})

t.test('without --sign-key, or with a foreign key, the receiver refuses: exit 1 and the 401 code in the output', async (t) => {
  const receiver = await startReceiver(t, { signature: superai.publicPem })
  const [unsigned, foreign] = await Promise.all([
    runCli(['send', receiver.url, '--retries', '0']),
    runCli(['send', receiver.url, '--retries', '0', '--sign-key', files.stranger, '--json'])
  ])
  t.equal(unsigned.code, 1)
  t.match(unsigned.stdout, /401 +failed .*FST_SUPERAI_SIGNATURE_MISSING/)
  t.equal(foreign.code, 1)
  t.match(jsonOf(foreign), { ok: false, deliveries: [{ status: 401, attempts: [{ code: 'FST_SUPERAI_SIGNATURE_INVALID' }] }] })
  t.equal(receiver.runs.size, 0, 'no handler ran')
})

t.test('a --sign-key that is not an EC private key is a usage error: exit 2, nothing sent, the key never printed', async (t) => {
  const receiver = await startReceiver(t, { signature: superai.publicPem })
  const cases = [[files.public, /not a PEM private key/], [files.garbage, /not a PEM private key/], [join(dir, 'missing.pem'), /ENOENT/]] as const
  const runs = await Promise.all(cases.map(async ([file]) => await runCli(['send', receiver.url, '--sign-key', file])))
  for (const [i, [file, reason]] of cases.entries()) {
    const run = runs[i] ?? { code: null, stderr: '', stdout: '' }
    t.equal(run.code, 2, file)
    t.match(run.stderr, reason)
    t.notMatch(run.stderr + run.stdout, /BEGIN|not a key at all/)
  }
  t.equal(receiver.answers.total, 0, 'nothing was sent')
})

t.test('simulate --sign-key: every callback and redelivery signed, each processed once', async (t) => {
  const receiver = await startReceiver(t, { signature: [stranger.publicPem, superai.publicPem] })
  const run = await runCli(['simulate', receiver.url, '--jobs', '12', '--batches', '2', '--duplicates', '0.5', '--seed', '7', '--concurrency', '4',
    '--max-wait', '1', '--sign-key', files.sec1, '--json'])
  t.equal(run.code, 0, run.stderr)
  t.match(jsonOf(run), { ok: true, summary: { failed: 0, processedMoreThanOnce: 0 } })
  t.ok(receiver.runs.size >= 14, 'every callback reached the handlers')
  t.same([...new Set(receiver.runs.values())], [1])
  t.notOk(receiver.answers.byStatus.has(401), 'no delivery refused')
})

t.test('check-url --probe --sign-key: accepted by a receiver requiring signatures; without the key, refused', async (t) => {
  const receiver = await startReceiver(t, { signature: superai.publicPem })
  const [signed, unsigned] = await Promise.all([
    runCli(['check-url', receiver.url, '--probe', '--sign-key', files.pkcs8]),
    runCli(['check-url', receiver.url, '--probe', '--retries', '0'])
  ])
  t.equal(signed.code, 0, signed.stderr)
  t.match(signed.stdout, /the receiver accepted the callback/)
  t.equal(unsigned.code, 1)
  t.match(unsigned.stdout, /FST_SUPERAI_SIGNATURE_MISSING/)
  t.equal(receiver.runs.size, 1)
})

t.test('reconcile --sign-key: the missed state changes are delivered signed and processed', async (t) => {
  const api = await startFakeSuperai(t)
  const receiver = await startReceiver(t, { signature: superai.publicPem })
  for (let i = 0; i < 3; i++) api.addJob({ appId: APP_ID, status: 'COMPLETED' })
  const args = ['reconcile', receiver.url, '--api-key', api.apiKey, '--app', APP_ID, '--since', '2h', '--base-url', api.baseUrl, '--json']
  const unsigned = await runCli([...args, '--retries', '0'])
  t.equal(unsigned.code, 1, 'refused without the key')
  t.equal(receiver.runs.size, 0)
  const run = await runCli([...args, '--sign-key', files.sec1])
  t.equal(run.code, 0, run.stderr)
  t.match(jsonOf(run), { ok: true, summary: { listed: 3, missed: 3, failed: 0 } })
  t.equal(receiver.runs.size, 3)
})
