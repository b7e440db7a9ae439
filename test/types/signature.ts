/** Signed callbacks: the `signature` option's key types, and `signCallback`'s result ready for inject and fetch. */
import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import superaiCallbacks, { signCallback, type SignatureKey, type SignedCallback, type SuperaiCallbacksOptions } from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

const app = Fastify()
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })

await app.register(superaiCallbacks, { signature: { publicKey: '-----BEGIN PUBLIC KEY-----...' } })
await app.register(superaiCallbacks, { signature: { publicKey: Buffer.from('pem') } })
await app.register(superaiCallbacks, { signature: { publicKey } })
await app.register(superaiCallbacks, { signature: { publicKey: [publicKey, 'pem', Buffer.from('pem')] } })
assertType<Equal<NonNullable<SuperaiCallbacksOptions['signature']>['publicKey'], SignatureKey | readonly SignatureKey[]>>()
// @ts-expect-error a key is a PEM, a Buffer or a KeyObject
await app.register(superaiCallbacks, { signature: { publicKey: 42 } })
// @ts-expect-error publicKey is required
await app.register(superaiCallbacks, { signature: {} })
// @ts-expect-error unknown names do not compile
await app.register(superaiCallbacks, { signature: { publicKey, algorithm: 'ES256' } })

const signed = signCallback({ uuid: 'u', id: 1, state: 'COMPLETED', action: 'RESOLVED' }, privateKey)
assertType<Equal<typeof signed, SignedCallback>>()
assertType<Equal<typeof signed.body, string>>()
assertType<Equal<typeof signed.headers['x-superai-webhook-signature'], string>>()
assertType<Equal<typeof signed.headers['content-type'], 'application/json'>>()
await app.inject({ method: 'POST', url: '/superai/callbacks/', headers: signed.headers, payload: signed.body })
await fetch('http://127.0.0.1:3000/superai/callbacks/', { method: 'POST', ...signed })
// @ts-expect-error the body is an object
signCallback('{"a": 1}', privateKey)
