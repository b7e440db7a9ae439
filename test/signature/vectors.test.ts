import { readFileSync } from 'node:fs'
import { createPublicKey, verify } from 'node:crypto'
import { test } from 'tap'
import { signCallback } from '../../src/index.js'
import { pythonJson } from '../../src/signature/python-json.js'
import { pythonJsonOfText } from '../helpers/signing.js'
import { SignatureVerifier } from '../../src/signature/ecdsa.js'

/** Made by test/fixtures/signature/make-vectors.py with Python's `cryptography`; see that script. */
interface Vectors {
  readonly keys: { readonly sec1: string, readonly pkcs8: string, readonly public: string, readonly otherPublic: string, readonly p384Public: string }
  readonly payloads: ReadonlyArray<{
    readonly sorted: string
    readonly compact: string
    readonly bodies: Readonly<Record<string, string>>
    readonly jsExact: boolean
  }>
  readonly signatures: ReadonlyArray<{
    readonly name: string
    readonly payload: number
    readonly body?: string
    readonly bodyText?: string
    readonly header: string
    readonly valid: boolean
  }>
}

const vectors = JSON.parse(readFileSync(new URL('../fixtures/signature/vectors.json', import.meta.url), 'utf8')) as Vectors
const verifier = new SignatureVerifier([createPublicKey(vectors.keys.public)])

test('the vectors are all there', async (t) => {
  t.equal(vectors.payloads.length, 6)
  t.ok(vectors.signatures.filter((s) => s.valid).length >= 200, 'positive vectors')
  t.ok(vectors.signatures.filter((s) => !s.valid).length >= 36, 'negative vectors')
  t.ok(vectors.payloads.some((p) => !p.jsExact), 'a payload JavaScript numbers cannot hold')
})

test('each body Python sent re-serialises to exactly what json.dumps(sort_keys=True) wrote, numbers kept as written', async (t) => {
  for (const [index, payload] of vectors.payloads.entries()) {
    for (const [name, body] of Object.entries(payload.bodies)) {
      t.equal(pythonJsonOfText(body), payload.sorted, `payload ${index}, ${name} body: sorted`)
      t.equal(pythonJsonOfText(body, 'compact'), payload.compact, `payload ${index}, ${name} body: compact`)
    }
  }
})

test('the signer serialises as Python does wherever a JavaScript value can hold the payload', async (t) => {
  for (const [index, payload] of vectors.payloads.entries()) {
    const value = JSON.parse(payload.sorted) as object
    if (payload.jsExact) {
      t.equal(pythonJson(value), payload.sorted, `payload ${index}`)
      t.equal(pythonJson(value, 'compact'), payload.compact, `payload ${index}, compact`)
    } else {
      // the documented limit: 1.0 reads back as 1, an int past 2^53 loses digits
      t.not(pythonJson(value), payload.sorted, `payload ${index}: JavaScript numbers cannot write it as Python did`)
    }
  }
})

test('every signature Python made verifies or fails as the vector says', async (t) => {
  for (const vector of vectors.signatures) {
    const payload = vectors.payloads[vector.payload]
    const body = vector.bodyText ?? payload?.bodies[vector.body ?? ''] ?? ''
    t.equal(verifier.verifies(body, vector.header), vector.valid, `payload ${vector.payload}: ${vector.name}`)
  }
})

test('signatures of other keys or curves verify with their own key only', async (t) => {
  const both = new SignatureVerifier([createPublicKey(vectors.keys.otherPublic), createPublicKey(vectors.keys.p384Public)])
  const foreign = vectors.signatures.filter((s) => s.name.startsWith('wrong key') || s.name.startsWith('other curve'))
  t.ok(foreign.length > 0)
  for (const vector of foreign) {
    t.ok(both.verifies(vectors.payloads[vector.payload]?.sorted ?? '', vector.header), `payload ${vector.payload}: ${vector.name} verifies with its own key`)
  }
})

test("signCallback with Python's SEC1 and PKCS#8 keys: the body Python would sign, a signature Python's public key verifies", async (t) => {
  const publicKey = createPublicKey(vectors.keys.public)
  for (const [index, payload] of vectors.payloads.entries()) {
    if (!payload.jsExact) continue
    for (const pem of [vectors.keys.sec1, vectors.keys.pkcs8]) {
      const signed = signCallback(JSON.parse(payload.sorted) as object, pem)
      t.equal(signed.body, payload.sorted, `payload ${index}: json.dumps(sort_keys=True)`)
      const signature = Buffer.from(signed.headers['x-superai-webhook-signature'], 'base64')
      t.ok(verify('sha256', Buffer.from(signed.body), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), `payload ${index}: r||s verifies`)
      t.ok(verifier.verifies(signed.body, signed.headers['x-superai-webhook-signature']), `payload ${index}: the plugin's verifier agrees`)
    }
  }
})
