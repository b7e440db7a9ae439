import fc from 'fast-check'
import { test } from 'tap'
import { signCallback } from '../../src/index.js'
import { pythonJson, pythonNumber, pythonString } from '../../src/signature/python-json.js'
import { SignatureVerifier } from '../../src/signature/ecdsa.js'
import { ecKeyPair, signatureOf } from '../helpers/signing.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const { privateKey, publicKey } = ecKeyPair()
const verifier = new SignatureVerifier([publicKey])

// keys and strings across the planes: ASCII, BMP (incl. U+E000..U+FFFF) and astral, so sorting and escaping are exercised
const text = fc.string({ unit: 'binary', maxLength: 8 })
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)))
const { json } = fc.letrec<{ json: Json }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), number, text,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(text, tie('json'), { maxKeys: 5 }))
}))
const payload = fc.dictionary(text, json, { minKeys: 1, maxKeys: 6 })

/**
 * The payload written as a sender might: keys in an order given by `seed`, any JSON whitespace, strings
 * escaped or raw; the numbers as Python wrote them (the receiver keeps number literals as they came).
 */
function rewrite (value: Json, seed: number, depth = 0): string {
  const space = [' ', '', '\n  ', '\t', '\r\n'][(seed + depth) % 5] ?? ''
  if (value === null || typeof value === 'boolean') return String(value)
  if (typeof value === 'number') return pythonNumber(value)
  if (typeof value === 'string') return (seed + depth) % 2 === 0 ? pythonString(value) : JSON.stringify(value)
  if (Array.isArray(value)) return `[${space}${value.map((item, i) => rewrite(item, seed + i, depth + 1)).join(`${space},${space}`)}${space}]`
  const keys = Object.keys(value)
  const rotated = keys.slice(seed % Math.max(keys.length, 1)).concat(keys.slice(0, seed % Math.max(keys.length, 1))).reverse()
  return `{${space}${rotated.map((key, i) => `${JSON.stringify(key)}${space}:${space}${rewrite(value[key] ?? null, seed + i, depth + 1)}`).join(`${space},`)}${space}}`
}

test('any key order, whitespace or string escaping of a signed payload passes (both sorted forms)', async (t) => {
  fc.assert(fc.property(payload, fc.nat(), fc.boolean(), (value, seed, compact) => {
    const header = compact ? signatureOf(pythonJson(value, 'compact'), privateKey) : signCallback(value, privateKey).headers['x-superai-webhook-signature']
    const sent = rewrite(value, seed)
    return verifier.verifies(sent, header)
  }), { numRuns: 300 })
  t.pass('300 payloads, each re-written and verified')
})

/** Every place in `value` a change can go: [the container path, the container]. */
function containers (value: Json, path: Array<string | number> = []): Array<[Array<string | number>, Json[] | { [key: string]: Json }]> {
  if (value === null || typeof value !== 'object') return []
  const own: Array<[Array<string | number>, Json[] | { [key: string]: Json }]> = [[path, value]]
  const children = Array.isArray(value) ? value.map((item, i) => containers(item, [...path, i])) : Object.entries(value).map(([key, item]) => containers(item, [...path, key]))
  return own.concat(...children)
}

test('any changed value, added or removed field or item of a signed payload fails', async (t) => {
  fc.assert(fc.property(payload, fc.nat(), fc.nat(), json, text, fc.integer({ min: 0, max: 2 }), (value, where, which, replacement, newKey, kind) => {
    const signed = signCallback(value, privateKey)
    const changed = structuredClone(value) as { [key: string]: Json }
    const places = containers(changed)
    const place = places[where % places.length]?.[1] ?? changed
    if (Array.isArray(place)) {
      if (kind === 0 || place.length === 0) place.push(replacement)
      else if (kind === 1) place.splice(which % place.length, 1)
      else place[which % place.length] = replacement
    } else {
      const keys = Object.keys(place)
      if (kind === 0 || keys.length === 0) place[keys.includes(newKey) ? `${newKey}+` : newKey] = replacement
      else if (kind === 1) Reflect.deleteProperty(place, keys[which % keys.length] ?? '')
      else place[keys[which % keys.length] ?? ''] = replacement
    }
    fc.pre(pythonJson(changed) !== signed.body) // a replacement equal to what it replaced is no change
    const header = signed.headers['x-superai-webhook-signature']
    return !verifier.verifies(pythonJson(changed), header) && !verifier.verifies(rewrite(changed, which), header) &&
      !verifier.verifies(pythonJson(changed, 'compact'), header)
  }), { numRuns: 300 })
  t.pass('300 changes, each refused in every form')
})
