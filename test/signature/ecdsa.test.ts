import { test } from 'tap'
import { MAX_SIGNATURE_HEADER_LENGTH, SignatureVerifier, ecPublicKey } from '../../src/signature/ecdsa.js'
import { ecKeyPair, signatureOf } from '../helpers/signing.js'

const body = '{"action": "RESOLVED", "id": "1", "state": "COMPLETED", "uuid": "5f0c3c1e-8a4b-4f7e-9a56-2d1b7c9e0f11"}'

test('other curves: P-384 and P-521 keys verify raw r||s of their own length and DER', async (t) => {
  for (const [curve, half] of [['P-384', 48], ['P-521', 66], ['secp256k1', 32]] as const) {
    const pair = ecKeyPair(curve)
    const verifier = new SignatureVerifier([pair.publicKey])
    const raw = signatureOf(body, pair.privateKey)
    t.equal(Buffer.from(raw, 'base64').length, 2 * half, `${curve}: r||s is ${2 * half} bytes`)
    t.ok(verifier.verifies(body, raw), `${curve}: raw`)
    t.ok(verifier.verifies(body, signatureOf(body, pair.privateKey, { der: true, encoding: 'hex' })), `${curve}: DER hex`)
    t.ok(MAX_SIGNATURE_HEADER_LENGTH >= signatureOf(body, pair.privateKey, { der: true, encoding: 'hex' }).length, `${curve}: fits the header bound`)
  }
})

test('a header with surrounding spaces passes; one a byte short, padded wrongly, or with a DER prefix on raw bytes does not', async (t) => {
  const pair = ecKeyPair()
  const verifier = new SignatureVerifier([pair.publicKey])
  const raw = signatureOf(body, pair.privateKey)
  t.ok(verifier.verifies(body, ` ${raw} `))
  t.notOk(verifier.verifies(body, Buffer.from(raw, 'base64').subarray(1).toString('base64')))
  t.notOk(verifier.verifies(body, `${raw}===`))
  t.notOk(verifier.verifies(body, Buffer.concat([Buffer.from([0x30]), Buffer.from(raw, 'base64')]).toString('base64')))
  t.notOk(verifier.verifies(body, ''))
  t.notOk(verifier.verifies(body, 'A'.repeat(MAX_SIGNATURE_HEADER_LENGTH + 1)))
  t.notOk(verifier.verifies('not json {', raw), 'a text that is not JSON has only its raw form')
})

test('ecPublicKey says why a key is refused, without quoting it', async (t) => {
  const pair = ecKeyPair()
  t.equal(typeof ecPublicKey(pair.publicPem), 'object')
  t.match(ecPublicKey(pair.sec1), /private/)
  t.match(ecPublicKey(Buffer.from(pair.pkcs8)), /private/)
  t.match(ecPublicKey(pair.privateKey), /private/)
  t.match(ecPublicKey('-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n'), /not a PEM public key/)
})
