import { createHash } from 'node:crypto'
import { test } from 'tap'
import fc from 'fast-check'
import { canonicalJson, defaultIdempotencyKey, type SuperaiEvent } from '../src/index.js'

/**
 * The key computation as first released: every key the plugin has written to Redis came from it, so the
 * faster one must give the same bytes, or a redelivery across an upgrade would run its handlers again.
 */
function referenceCanonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => referenceCanonicalJson(item ?? null)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${referenceCanonicalJson((value as Record<string, unknown>)[key])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value)
}

function referenceKey (event: SuperaiEvent): string {
  return createHash('sha256').update(event.uuid).update('\n').update(referenceCanonicalJson(event)).digest('base64url').slice(0, 22)
}

/** Keys that sort in surprising ways: integer-like (enumerated first), non-ASCII, astral, escapes, empty. */
const awkwardKey = fc.oneof(
  fc.string(),
  fc.constantFrom('', '0', '1', '10', '2', '-1', '01', 'é', 'Z', 'a', '\u{1F600}', '\uFFFF', '"', '\\', '\n', '__proto__x'),
  fc.nat().map(String)
)

/** JSON values with awkward keys and strings with lone surrogates, as JSON.parse can produce them. */
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(),
    fc.string({ unit: 'binary' }),
    fc.array(tie('json'), { maxLength: 5 }),
    fc.dictionary(awkwardKey, tie('json'), { maxKeys: 20 })
  )
}))

const events: fc.Arbitrary<SuperaiEvent> = fc.record({
  id: fc.string(),
  uuid: fc.oneof(fc.uuid(), fc.string({ unit: 'binary' })),
  state: fc.string(),
  action: fc.string(),
  postProcessingEnabled: fc.boolean(),
  extra: json
}, { requiredKeys: ['id', 'uuid', 'state', 'action'] }).chain((base) =>
  // more top-level properties, in any insertion order
  fc.dictionary(awkwardKey, json, { maxKeys: 24 }).map((more) => ({ ...more, ...base }) as unknown as SuperaiEvent))

test('canonicalJson gives exactly what the released implementation gave', async (t) => {
  fc.assert(fc.property(json, (value) => canonicalJson(value) === referenceCanonicalJson(value)), { numRuns: 2000 })
  t.pass()
})

test('defaultIdempotencyKey gives byte-identical keys to the released implementation', async (t) => {
  fc.assert(fc.property(events, (event) => defaultIdempotencyKey(event) === referenceKey(event)), { numRuns: 2000 })
  t.pass()
})

test('key order never changes the key; undefined properties are skipped as JSON does', async (t) => {
  const event = { uuid: '0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79', id: '7', state: 'COMPLETED', action: 'RESOLVED', b: [1, { y: 2, x: 1 }], a: undefined }
  const reordered = { b: [1, { x: 1, y: 2 }], action: 'RESOLVED', state: 'COMPLETED', id: '7', uuid: '0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79' }
  t.equal(defaultIdempotencyKey(event as unknown as SuperaiEvent), defaultIdempotencyKey(reordered as unknown as SuperaiEvent))
  t.equal(canonicalJson(event), '{"action":"RESOLVED","b":[1,{"x":1,"y":2}],"id":"7","state":"COMPLETED","uuid":"0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79"}')
  t.equal(defaultIdempotencyKey(event as unknown as SuperaiEvent).length, 22)
})
