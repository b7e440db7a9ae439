import { createSecretKey, generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import { test } from 'tap'
import superaiCallbacks, { type SuperaiCallbacksOptions } from '../../src/index.js'
import { resolveOptions } from '../../src/options.js'
import { ecKeyPair } from '../helpers/signing.js'

const ec = ecKeyPair()
const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string
const ed25519 = generateKeyPairSync('ed25519')

test('EC public keys are accepted as a PEM, a Buffer, a KeyObject, another curve, or a list of them', async (t) => {
  for (const publicKey of [ec.publicPem, Buffer.from(ec.publicPem), ec.publicKey, ecKeyPair('P-384').publicPem, [ec.publicPem, ecKeyPair().publicKey]]) {
    t.ok(resolveOptions({ signature: { publicKey } }).signatureVerifier, 'resolved to a verifier')
  }
  t.equal(resolveOptions({}).signatureVerifier, undefined, 'no option, no check')
})

test('anything but an EC public key fails register, naming signature and never quoting the key', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['an RSA public key', rsaPublicPem],
    ['an RSA KeyObject', rsa.publicKey],
    ['an Ed25519 key', ed25519.publicKey],
    ['an EC private key (SEC1)', ec.sec1],
    ['an EC private key (PKCS#8)', ec.pkcs8],
    ['an EC private KeyObject', ec.privateKey],
    ['a secret KeyObject', createSecretKey(Buffer.alloc(32, 1))],
    ['garbage', 'not-a-key-MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'],
    ['an empty string', ''],
    ['an empty list', []],
    ['a list with one bad key', [ec.publicPem, rsaPublicPem]],
    ['a number', 42],
    ['null', null],
    ['no publicKey', undefined]
  ]
  for (const [name, publicKey] of cases) {
    const app = Fastify()
    const err = await app.register(superaiCallbacks, { signature: { publicKey } } as unknown as SuperaiCallbacksOptions).ready().then(() => undefined, (e: unknown) => e as Error & { code?: string })
    t.equal(err?.code, 'FST_SUPERAI_INVALID_OPTION', name)
    t.match(err?.message, /"signature(\.publicKey)?"/, `${name}: names signature`)
    t.notMatch(err?.message, /BEGIN|MII|not-a-key/, `${name}: the key is not quoted`)
    await app.close()
  }
  for (const signature of ['pem', null, [ec.publicPem], { publicKey: ec.publicPem, extra: 1 }]) {
    t.throws(() => resolveOptions({ signature } as unknown as SuperaiCallbacksOptions), { code: 'FST_SUPERAI_INVALID_OPTION', message: /"signature/ })
  }
})
