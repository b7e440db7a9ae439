/**
 * Signed callbacks, both sides: a receiver that checks super.AI's signature (`signature`), and callbacks
 * signed as super.AI signs them (`signCallback`), sent to it with fetch.
 *
 *   npx tsx examples/signed.ts                                         # a throwaway P-256 key pair
 *   SUPERAI_PUBLIC_KEY=pub.pem SIGN_KEY=key.pem npx tsx examples/signed.ts   # your own (see the README's openssl lines)
 *
 * In production `publicKey` is the PEM super.AI shares with you, and only super.AI holds the private key.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import superaiCallbacks, { signCallback } from '../src/index.js'

const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const publicKey: string | KeyObject = process.env.SUPERAI_PUBLIC_KEY === undefined ? pair.publicKey : readFileSync(process.env.SUPERAI_PUBLIC_KEY, 'utf8')
const privateKey: string | KeyObject = process.env.SIGN_KEY === undefined ? pair.privateKey : readFileSync(process.env.SIGN_KEY, 'utf8')

const app = Fastify({ logger: { level: 'warn' } })
await app.register(superaiCallbacks, { signature: { publicKey } })
app.superai.onJobCompleted(async (event) => { console.log(`handler: job ${event.uuid} completed (signature checked)`) })

const port = Number(process.env.PORT ?? 3000)
await app.listen({ port, host: '127.0.0.1' })
const url = `http://127.0.0.1:${port}/superai/callbacks/`
console.log(`receiving signed super.AI callbacks at ${url}`)

const callback = { id: '1', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false' }
// { body, headers }: the body as super.AI's Python writes it, and X-SuperAI-Webhook-Signature
const signed = signCallback(callback, privateKey)
const post = async (body: string, headers: Record<string, string>): Promise<string> => {
  const response = await fetch(url, { method: 'POST', headers, body })
  return `${response.status} ${await response.text()}`
}
console.log(`signed:   ${await post(signed.body, signed.headers)}`)
console.log(`again:    ${await post(signed.body, signed.headers)}`)
console.log(`unsigned: ${await post(signed.body, { 'content-type': 'application/json' })}`)
console.log(`tampered: ${await post(signed.body.replace('COMPLETED', 'FAILED'), signed.headers)}`)
