/**
 * What the `signature` option costs the receiving process, outside HTTP: one verification of a typical
 * callback in each form that passes (and of a forged one, which tries every form), `signCallback`, and
 * the re-serialisation of bodies near the default `bodyLimit` against `JSON.parse` of the same text
 * (the most expensive refusal). `npm run bench:signature`; the HTTP cost is a contender of `npm run bench`.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { signCallback } from '../src/signature/sign.js'
import { SignatureVerifier } from '../src/signature/ecdsa.js'
import { pythonJsonFormsOfText } from '../src/signature/python-json.js'

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const verifier = new SignatureVerifier([publicKey])
const body = { id: '1234567', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: 'false', output: { text: 'x'.repeat(300), n: [1, 2, 3] } }
const signed = signCallback(body, privateKey)
const header = signed.headers['x-superai-webhook-signature']
const unsorted = JSON.stringify(body)

function perCall (name: string, fn: () => boolean, n = 3000): void {
  for (let i = 0; i < 300; i++) fn()
  const started = process.hrtime.bigint()
  let passed = 0
  for (let i = 0; i < n; i++) if (fn()) passed++
  const micros = Number(process.hrtime.bigint() - started) / 1000 / n
  console.log(`${name}: ${micros.toFixed(1)} µs per call (${passed}/${n} passed)`)
}

console.log(`a ${signed.body.length}-byte callback, P-256:`)
perCall('  signed body as sent (the raw body verifies)', () => verifier.verifies(signed.body, header))
perCall('  body sent unsorted (the sorted form verifies)', () => verifier.verifies(unsorted, header))
perCall('  forged (every form tried, none verifies)', () => verifier.verifies(unsorted.replace('COMPLETED', 'FAILED'), header))
perCall('  signCallback', () => signCallback(body, privateKey).body.length > 0)

const MB = 1024 * 1024
const large: Array<[string, string]> = [
  ['1 MiB, one ASCII string', JSON.stringify({ s: 'abcd'.repeat(MB / 4) })],
  ['1 MiB, a string of escapes', JSON.stringify({ s: 'é\n'.repeat(MB / 6) })],
  ['0.7 MiB, 20,000 small objects', JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${(i * 7919) % 20_000}`, [i, { a: i / 3 }]])))],
  ['1 MiB of numbers', JSON.stringify(Array.from({ length: 60_000 }, (_, i) => i / 7))]
]
console.log('re-serialising a large body (best of 5):')
for (const [name, text] of large) {
  let parse = Infinity
  let forms = Infinity
  for (let i = 0; i < 5; i++) {
    let started = performance.now()
    JSON.parse(text)
    parse = Math.min(parse, performance.now() - started)
    started = performance.now()
    pythonJsonFormsOfText(text)
    forms = Math.min(forms, performance.now() - started)
  }
  console.log(`  ${name}: JSON.parse ${parse.toFixed(1)} ms, both sorted forms ${forms.toFixed(1)} ms (${(forms / parse).toFixed(0)}×)`)
}
