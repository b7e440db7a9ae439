import { generateKeyPairSync, verify } from 'node:crypto'
import { test } from 'tap'
import { signCallback } from '../../src/index.js'

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }) as string
const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string

const body = { uuid: '9a3b7c1e-0000-4000-8000-000000000001', id: 42, state: 'COMPLETED', action: 'RESOLVED', note: 'café ☕ 😀' }

function verifies (signed: { body: string, headers: Record<string, string> }): boolean {
  const signature = Buffer.from(signed.headers['x-superai-webhook-signature'] ?? '', 'base64')
  return verify('sha256', Buffer.from(signed.body, 'utf8'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
}

test('the body is sorted Python JSON and the header the base64 of a 64-byte r||s over it', async (t) => {
  for (const key of [privateKey, sec1, pkcs8, Buffer.from(sec1), Buffer.from(pkcs8)]) {
    const signed = signCallback(body, key)
    t.equal(signed.body,
      '{"action": "RESOLVED", "id": 42, "note": "caf\\u00e9 \\u2615 \\ud83d\\ude00", "state": "COMPLETED", "uuid": "9a3b7c1e-0000-4000-8000-000000000001"}')
    t.same(Object.keys(signed.headers).sort(), ['content-type', 'x-superai-webhook-signature'])
    t.equal(signed.headers['content-type'], 'application/json')
    t.equal(Buffer.from(signed.headers['x-superai-webhook-signature'], 'base64').length, 64, 'raw r||s of P-256')
    t.ok(verifies(signed), 'verifies with the public key over the exact body')
    t.notOk(verifies({ ...signed, body: signed.body.replace('42', '43') }), 'a changed body does not verify')
  }
})

test('anything but an EC private key is refused with a code, without quoting the key', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string
  for (const [name, key] of [['rsa', rsaPem], ['public pem', publicPem], ['public KeyObject', publicKey], ['garbage', 'not a key'], ['empty', '']] as const) {
    let thrown: unknown
    try { signCallback(body, key) } catch (err) { thrown = err }
    t.equal((thrown as { code?: string } | undefined)?.code, 'FST_SUPERAI_INVALID_SIGNING_KEY', name)
    const message = (thrown as Error).message
    t.notMatch(message, /BEGIN|MII|not a key/, `${name}: the key is not quoted`)
  }
})

test('what JSON cannot hold throws a TypeError', async (t) => {
  t.throws(() => signCallback({ n: Number.NaN }, privateKey), TypeError)
  t.throws(() => signCallback({ n: Infinity }, privateKey), TypeError)
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.throws(() => signCallback(cyclic, privateKey), TypeError)
})
