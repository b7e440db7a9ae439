import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { test } from 'tap'
import superaiCallbacks, { signCallback, type SuperaiCallbacksOptions } from '../../src/index.js'
import { pythonJson } from '../../src/signature/python-json.js'
import { buildApp, warnLines, type TestApp } from '../helpers/app.js'
import { callbackBody, keysUnder, testRedis } from '../helpers/callbacks.js'
import { startFakeApi } from '../helpers/fake-api.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'
import { ecKeyPair, signatureOf } from '../helpers/signing.js'

const HEADER = 'x-superai-webhook-signature'
const superai = ecKeyPair()
const stranger = ecKeyPair()

/** The app with `signature` on, counting the handlers' runs by uuid. */
async function signedApp (t: Parameters<typeof buildApp>[0], options: SuperaiCallbacksOptions = {}): Promise<TestApp & { runs: Map<string, number> }> {
  const built = await buildApp(t, { signature: { publicKey: superai.publicPem }, ...options })
  const runs = new Map<string, number>()
  built.app.superai.on('callback', (event) => { runs.set(event.uuid, (runs.get(event.uuid) ?? 0) + 1) })
  built.app.superai.on('entity', (event) => { runs.set(event.entityId, (runs.get(event.entityId) ?? 0) + 1) })
  await built.app.ready()
  return { ...built, runs }
}

async function nothingStored (t: Parameters<typeof buildApp>[0], prefix: string): Promise<void> {
  const redis = testRedis()
  t.same(await keysUnder(redis, prefix), [], 'no Redis key was written')
  await redis.quit()
}

/** Neither the signature, nor the body's values, nor a key appears in any log line. */
function logsHoldNothingSecret (t: Parameters<typeof buildApp>[0], logs: ReadonlyArray<Record<string, unknown>>, secrets: readonly string[]): void {
  const text = JSON.stringify(logs)
  for (const secret of secrets) t.notOk(text.includes(secret), `the logs do not hold ${secret.slice(0, 12)}…`)
  t.notOk(text.includes('BEGIN'), 'no PEM in the logs')
}

test('a callback signed as super.AI signs is processed once; a redelivery is a duplicate', async (t) => {
  const { app, runs, logs } = await signedApp(t)
  const body = callbackBody()
  const signed = signCallback(body, superai.privateKey)
  const first = await app.inject({ method: 'POST', url: '/superai/callbacks/', ...signed, payload: signed.body })
  t.equal(first.statusCode, 200)
  t.same(first.json(), { ok: true, duplicate: false })
  const again = await app.inject({ method: 'POST', url: '/superai/callbacks/', headers: signed.headers, payload: signed.body })
  t.same(again.json(), { ok: true, duplicate: true })
  t.equal(runs.get(body.uuid as string), 1)
  t.same(warnLines(logs), [])
})

test('unsigned, empty, tampered and foreign-key callbacks: 401 with their own code, one warn line, rejected, nothing stored', async (t) => {
  const { app, runs, logs, prefix, post } = await signedApp(t)
  const body = callbackBody({ note: 'private-note-value' })
  const signed = signCallback(body, superai.privateKey)
  const signature = signed.headers[HEADER]
  const tampered = signed.body.replace('COMPLETED', 'FAILED')
  const cases: Array<[string, string, Record<string, string>, string]> = [
    ['no header', signed.body, {}, 'FST_SUPERAI_SIGNATURE_MISSING'],
    ['an empty header', signed.body, { [HEADER]: '' }, 'FST_SUPERAI_SIGNATURE_MISSING'],
    ['a blank header', signed.body, { [HEADER]: '   ' }, 'FST_SUPERAI_SIGNATURE_MISSING'],
    ['a changed value', tampered, { [HEADER]: signature }, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['an added field', signed.body.replace('{', '{"extra": 1, '), { [HEADER]: signature }, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['a removed field', signed.body.replace(/"note": "private-note-value", /, ''), { [HEADER]: signature }, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['a foreign key', signed.body, { [HEADER]: signCallback(body, stranger.privateKey).headers[HEADER] }, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['a signature of another callback', signed.body, { [HEADER]: signCallback(callbackBody(), superai.privateKey).headers[HEADER] }, 'FST_SUPERAI_SIGNATURE_INVALID']
  ]
  for (const [name, payload, headers, code] of cases) {
    const before = warnLines(logs).length
    const reply = await post(payload, headers)
    t.equal(reply.statusCode, 401, name)
    t.equal(reply.json().code, code, name)
    const warns = warnLines(logs).slice(before)
    t.equal(warns.length, 1, `${name}: one warn line`)
    t.equal(warns[0]?.code, code, `${name}: the warn line has the code`)
  }
  t.equal(runs.size, 0, 'no handler ran')
  t.equal(app.superai.stats().rejected, cases.length, 'each counted in rejected')
  t.equal(app.superai.stats().processed, 0)
  await nothingStored(t, prefix)
  logsHoldNothingSecret(t, logs, [signature, 'private-note-value', body.uuid as string])
})

test('every documented-or-plausible form passes: base64, base64url, hex; r||s or DER; raw body, sorted, sorted compact', async (t) => {
  const { runs, post } = await signedApp(t)
  const forms: Array<[string, (body: Record<string, unknown>) => { payload: string, header: string }]> = []
  for (const encoding of ['base64', 'base64url', 'hex'] as const) {
    for (const der of [false, true]) {
      forms.push([`${encoding}${der ? ' DER' : ''} over the exact raw body`, (body) => {
        const payload = `{ "z" : 1,\n"uuid":"${String(body.uuid)}",  "id":"42","state":"COMPLETED","action":"RESOLVED" }`
        return { payload, header: signatureOf(payload, superai.privateKey, { encoding, der }) }
      }])
      forms.push([`${encoding}${der ? ' DER' : ''} over the sorted form, sent unsorted`, (body) => {
        const sorted = signCallback(body, superai.privateKey).body
        return { payload: JSON.stringify(body), header: signatureOf(sorted, superai.privateKey, { encoding, der }) }
      }])
      forms.push([`${encoding}${der ? ' DER' : ''} over the sorted form without spaces, sent unsorted`, (body) => {
        const compact = pythonJson(body, 'compact')
        t.notMatch(compact, /[,:] /, 'no spaces')
        return { payload: JSON.stringify(Object.fromEntries(Object.entries(body).reverse()), null, 2), header: signatureOf(compact, superai.privateKey, { encoding, der }) }
      }])
    }
  }
  forms.push(['base64 without its padding', (body) => {
    const signed = signCallback(body, superai.privateKey)
    return { payload: signed.body, header: signed.headers[HEADER].replace(/=+$/, '') }
  }])
  for (const [name, make] of forms) {
    const body = callbackBody({ note: 'é 😀', nested: { b: [1, { d: null, c: true }], a: 'x' } })
    const { payload, header } = make(body)
    const reply = await post(payload, { [HEADER]: header })
    t.equal(reply.statusCode, 200, name)
    t.equal(runs.get(body.uuid as string), 1, `${name}: processed once`)
  }
})

test('numbers keep the literal super.AI wrote: 1.0, 1e-07 and integers past 2^53 verify in the sorted form', async (t) => {
  const { runs, post } = await signedApp(t)
  const uuid = randomUUID()
  // what json.dumps(payload, sort_keys=True) writes for these Python values (1.0 is a float, the big one an int)
  const sorted = `{"action": "RESOLVED", "big": 123456789012345678901234567890, "id": "42", "score": 1.0, "state": "COMPLETED", "tiny": 1e-07, "uuid": "${uuid}"}`
  const sent = `{"uuid": "${uuid}", "id": "42", "state": "COMPLETED", "action": "RESOLVED", "score": 1.0, "tiny": 1e-07, "big": 123456789012345678901234567890}`
  const reply = await post(sent, { [HEADER]: signatureOf(sorted, superai.privateKey) })
  t.equal(reply.statusCode, 200)
  t.equal(runs.get(uuid), 1)
  const reformatted = sent.replace('1.0', '1').replace('1e-07', '1e-7')
  const other = await post(reformatted, { [HEADER]: signatureOf(sorted, superai.privateKey) })
  t.equal(other.statusCode, 401, 'a number written otherwise is not what was signed')
})

test('key rotation: any of the configured keys verifies; a key not listed does not', async (t) => {
  const next = ecKeyPair()
  const { runs, post } = await signedApp(t, { signature: { publicKey: [superai.publicPem, Buffer.from(next.publicPem), next.publicKey] } })
  for (const key of [superai.privateKey, next.privateKey]) {
    const body = callbackBody()
    const signed = signCallback(body, key)
    t.equal((await post(signed.body, signed.headers)).statusCode, 200)
    t.equal(runs.get(body.uuid as string), 1)
  }
  const signed = signCallback(callbackBody(), stranger.privateKey)
  t.equal((await post(signed.body, signed.headers)).json().code, 'FST_SUPERAI_SIGNATURE_INVALID')
})

test('hostile input: bounded, coded, nothing stored, nothing logged in full', async (t) => {
  const { app, runs, logs, prefix, post } = await signedApp(t, { bodyLimit: 4096 })
  const body = callbackBody()
  const signed = signCallback(body, superai.privateKey)
  const huge = 'A'.repeat(12_000)
  const cases: Array<[string, string, Record<string, string>, number, string]> = [
    ['a huge header', signed.body, { [HEADER]: huge }, 401, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['a header of the wrong length', signed.body, { [HEADER]: signed.headers[HEADER].slice(0, 40) }, 401, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['a header of one byte more', signed.body, { [HEADER]: Buffer.concat([Buffer.from(signed.headers[HEADER], 'base64'), Buffer.from([0])]).toString('base64') }, 401, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['non-base64 bytes', signed.body, { [HEADER]: '!!!*** not base64 ***!!!' }, 401, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['a header of two signatures', signed.body, { [HEADER]: `${signed.headers[HEADER]}, ${signed.headers[HEADER]}` }, 401, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['valid JSON, not an object, unsigned', '[1, 2, 3]', {}, 401, 'FST_SUPERAI_SIGNATURE_MISSING'],
    ['valid JSON, not an object, wrongly signed', '"text"', { [HEADER]: signed.headers[HEADER] }, 401, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['valid JSON, not an object, signed', '[1, 2, 3]', { [HEADER]: signatureOf('[1, 2, 3]', superai.privateKey) }, 400, 'FST_SUPERAI_INVALID_BODY'],
    ['deep nesting, signed over the raw body', `${'['.repeat(1500)}${']'.repeat(1500)}`, { [HEADER]: signed.headers[HEADER] }, 401, 'FST_SUPERAI_SIGNATURE_INVALID'],
    ['not JSON at all', '{"uuid": ', { [HEADER]: signed.headers[HEADER] }, 400, 'FST_SUPERAI_INVALID_JSON'],
    ['over bodyLimit, signed', JSON.stringify({ ...body, pad: 'x'.repeat(5000) }), { [HEADER]: signed.headers[HEADER] }, 413, 'FST_SUPERAI_BODY_TOO_LARGE'],
    ['over bodyLimit, unsigned', JSON.stringify({ ...body, pad: 'x'.repeat(5000) }), {}, 401, 'FST_SUPERAI_SIGNATURE_MISSING']
  ]
  for (const [name, payload, headers, status, code] of cases) {
    const before = warnLines(logs).length
    const started = performance.now()
    const reply = await post(payload, headers)
    t.ok(performance.now() - started < 1000, `${name}: answered at once`)
    t.equal(reply.statusCode, status, name)
    t.equal(reply.json().code, code, name)
    t.equal(warnLines(logs).length - before, 1, `${name}: one warn line`)
  }
  t.equal(runs.size, 0)
  t.equal(app.superai.stats().rejected, cases.length)
  await nothingStored(t, prefix)
  logsHoldNothingSecret(t, logs, [huge.slice(0, 100), signed.headers[HEADER], 'x'.repeat(100), body.uuid as string])
})

test('batch (v2) callbacks: signed is processed once; unsigned or tampered is 401 and nothing is stored', async (t) => {
  const { runs, prefix, post } = await signedApp(t)
  const batch = { version: '2', entityType: 'batch', entityId: randomUUID(), state: 'COMPLETED', appId: 'app-1' }
  const signed = signCallback(batch, superai.privateKey)
  t.equal((await post(signed.body, signed.headers)).statusCode, 200)
  t.same((await post(signed.body, signed.headers)).json(), { ok: true, duplicate: true })
  t.equal(runs.get(batch.entityId), 1)

  const other = { ...batch, entityId: randomUUID() }
  const otherSigned = signCallback(other, superai.privateKey)
  t.equal((await post(otherSigned.body)).json().code, 'FST_SUPERAI_SIGNATURE_MISSING')
  t.equal((await post(otherSigned.body.replace('COMPLETED', 'FAILED'), otherSigned.headers)).json().code, 'FST_SUPERAI_SIGNATURE_INVALID')
  t.equal((await post(otherSigned.body, signCallback(other, stranger.privateKey).headers)).json().code, 'FST_SUPERAI_SIGNATURE_INVALID')
  t.notOk(runs.has(other.entityId))
  const redis = testRedis()
  t.notOk((await keysUnder(redis, prefix)).some((key) => key.includes(other.entityId)), 'nothing stored for the refused batch')
  await redis.quit()
})

test('queue mode: signed is queued and run once; unsigned, tampered or foreign-key callbacks are never queued', async (t) => {
  const queue = uniqueQueue()
  removeQueueAtTeardown(t, queue)
  const { app, runs, prefix, post } = await signedApp(t, { queue })
  const refusedBodies = [callbackBody(), callbackBody(), { version: '2', entityType: 'batch', entityId: randomUUID(), state: 'FAILED' }]
  const [unsigned, tampered, foreign] = refusedBodies.map((body) => signCallback(body, superai.privateKey))
  t.equal((await post(unsigned?.body ?? '')).statusCode, 401)
  t.equal((await post(tampered?.body.replace('COMPLETED', 'FAILED') ?? '', tampered?.headers)).statusCode, 401)
  t.equal((await post(foreign?.body ?? '', signCallback(refusedBodies[2] ?? {}, stranger.privateKey).headers)).statusCode, 401)
  const counts = await app.superai.queue?.getJobCounts()
  t.ok(counts !== undefined && Object.values(counts).every((count) => count === 0), 'no job was queued')
  await nothingStored(t, prefix)

  const body = callbackBody()
  const signed = signCallback(body, superai.privateKey)
  const reply = await post(signed.body, signed.headers)
  t.equal(reply.statusCode, 202)
  t.ok(await waitFor(() => runs.get(body.uuid as string) === 1), 'the worker ran it')
  t.same((await post(signed.body, signed.headers)).json(), { ok: true, duplicate: true })
  await sleep(100)
  t.equal(runs.size, 1, 'only the signed callback ran, once')
})

test('the raw body is kept for the plugin route only: a host route keeps its parser, body limit and unsigned access', async (t) => {
  const app = Fastify({ bodyLimit: 64 })
  t.teardown(async () => { await app.close() })
  const parsed: unknown[] = []
  app.post('/host/json', async (request) => { parsed.push(request.body); return { ok: true } })
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => { done(null, `host:${String(body)}`) })
  app.post('/host/text', async (request) => ({ got: request.body }))
  await app.register(superaiCallbacks, { signature: { publicKey: superai.publicPem }, bodyLimit: 4096 })
  await app.ready()

  const json = await app.inject({ method: 'POST', url: '/host/json', payload: { a: 1, b: 'x' } })
  t.equal(json.statusCode, 200, 'no signature asked of a host route')
  t.same(parsed, [{ a: 1, b: 'x' }], 'the host route gets the parsed object from the host parser')
  const tooBig = await app.inject({ method: 'POST', url: '/host/json', payload: { pad: 'x'.repeat(100) } })
  t.equal(tooBig.statusCode, 413, 'the host bodyLimit still applies to host routes')
  t.equal(tooBig.json().code, 'FST_ERR_CTP_BODY_TOO_LARGE', 'answered by Fastify, not the plugin')
  const poisoned = await app.inject({ method: 'POST', url: '/host/json', headers: { 'content-type': 'application/json' }, payload: '{"__proto__": {"x": 1}}' })
  t.equal(poisoned.statusCode, 400, 'the host JSON parser still refuses __proto__ as Fastify does')
  const text = await app.inject({ method: 'POST', url: '/host/text', headers: { 'content-type': 'text/plain' }, payload: 'hi' })
  t.same(text.json(), { got: 'host:hi' }, 'the host text parser is untouched')

  const body = callbackBody({ pad: 'y'.repeat(200) })
  const signed = signCallback(body, superai.privateKey)
  const reply = await app.inject({ method: 'POST', url: '/superai/callbacks/', headers: signed.headers, payload: signed.body })
  t.equal(reply.statusCode, 200, 'the plugin route keeps its own bodyLimit and checks the signature')
  const unsigned = await app.inject({ method: 'POST', url: '/superai/callbacks/', headers: { 'content-type': 'application/json' }, payload: signed.body })
  t.equal(unsigned.statusCode, 401)
})

test('without the option, a callback needs no signature and its header is ignored', async (t) => {
  const { app, post } = await buildApp(t)
  await app.ready()
  t.equal((await post(callbackBody())).statusCode, 200)
  t.equal((await post(callbackBody(), { [HEADER]: 'garbage' })).statusCode, 200)
})

test('with verify: an unsigned or tampered callback never reaches the super.AI API', async (t) => {
  const api = await startFakeApi(() => ({ status: 404, body: { message: 'not found' } }))
  t.teardown(api.close)
  const { runs, post, prefix } = await signedApp(t, { verify: { apiKey: 'key', baseUrl: api.baseUrl } })
  const signed = signCallback(callbackBody(), superai.privateKey)
  t.equal((await post(signed.body)).statusCode, 401)
  t.equal((await post(signed.body.replace('COMPLETED', 'FAILED'), signed.headers)).statusCode, 401)
  t.equal(api.requests.length, 0, 'no fetch for a refused callback')
  t.equal((await post(signed.body, signed.headers)).statusCode, 422, 'a signed one is verified (the fake API does not know the job)')
  t.equal(api.requests.length, 1)
  t.equal(runs.size, 0)
  await nothingStored(t, prefix)
})
