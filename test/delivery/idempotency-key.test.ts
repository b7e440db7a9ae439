import { createHash } from 'node:crypto'
import { test } from 'tap'
import fc from 'fast-check'
import { JOB_STATES, canonicalJson, defaultIdempotencyKey, type SuperaiEvent } from '../../src/index.js'
import { jobTag, stateChangeKey } from '../../src/delivery/idempotency-key.js'

/**
 * The key computation as first released, which other actions than RESOLVED keep: keys the plugin wrote
 * for edits, tags and verdicts must stay the same bytes, or a redelivery across an upgrade would run its
 * handlers again.
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

/** An action that is not a state change in any spelling. */
const isStateChange = (action: string): boolean => action.trim().replace(/[_\s]+/g, ' ').toUpperCase() === 'RESOLVED'

test('other actions than RESOLVED keep byte-identical keys to the released implementation', async (t) => {
  fc.assert(fc.property(events.filter((event) => !isStateChange(event.action)), (event) => defaultIdempotencyKey(event) === referenceKey(event)), { numRuns: 2000 })
  t.pass()
})

/** A documented state in any of the spellings super.AI uses or a sender might: spaced, underscored, lower case, padded. */
const spelledState = fc.constantFrom(...JOB_STATES).chain((state) => fc.constantFrom(
  state, state.replace(/ /g, '_'), state.toLowerCase(), ` ${state.replace(/ /g, '_').toLowerCase()} `
).map((spelling) => ({ state, spelling })))

/** The same state change with its fields in another order and other extra fields, as a reconciled event has. */
const sameStateChange = fc.record({
  uuid: fc.uuid(),
  first: spelledState,
  second: spelledState,
  firstExtra: fc.dictionary(awkwardKey, json, { maxKeys: 8 }),
  secondExtra: fc.dictionary(awkwardKey, json, { maxKeys: 8 }),
  reconciled: fc.boolean(),
  reversed: fc.boolean()
}).filter(({ first, second }) => first.state === second.state)

test('a state change has one key whoever reports it: key order, state spelling and extra fields change nothing', async (t) => {
  fc.assert(fc.property(sameStateChange, ({ uuid, first, second, firstExtra, secondExtra, reconciled, reversed }) => {
    const callback = { ...firstExtra, id: '7', uuid, state: first.spelling, action: 'RESOLVED', postProcessingEnabled: true }
    const fields: Array<[string, unknown]> = [...Object.entries(secondExtra), ['uuid', uuid], ['state', second.spelling], ['action', 'RESOLVED'], ['id', '8'],
      ...(reconciled ? [['reconciled', true] as [string, unknown]] : [])]
    const other = Object.fromEntries(reversed ? fields.reverse() : fields)
    return defaultIdempotencyKey(callback as unknown as SuperaiEvent) === defaultIdempotencyKey(other as unknown as SuperaiEvent)
  }), { numRuns: 500 })
  t.pass()
})

test('another state, or another job, is another key', async (t) => {
  const states = fc.uniqueArray(fc.constantFrom(...JOB_STATES), { minLength: 2, maxLength: 2 })
  fc.assert(fc.property(fc.uuid(), fc.uuid(), states, (uuid, otherUuid, [a = '', b = '']) => {
    const key = (u: string, state: string): string => defaultIdempotencyKey({ id: '1', uuid: u, state, action: 'RESOLVED', reconciled: true } as unknown as SuperaiEvent)
    return key(uuid, a) !== key(uuid, b) && (uuid === otherUuid || key(uuid, a) !== key(otherUuid, a))
  }), { numRuns: 300 })
  t.equal(defaultIdempotencyKey({ id: '1', uuid: '0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79', state: 'POST PROCESSED', action: 'RESOLVED' } as SuperaiEvent), '{C498Doo7T46dKi89TFtqeQ}D')
})

test('a state change\'s key: the job\'s tag (its uuid in base64url, in braces: one Cluster slot per job) and its state\'s letter', async (t) => {
  const key = (uuid: string, state: string): string => defaultIdempotencyKey({ id: '1', uuid, state, action: 'RESOLVED' } as SuperaiEvent)
  const uuid = '0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79'
  t.equal(key(uuid, 'COMPLETED'), `{${Buffer.from('0b8f7c0e8a3b4f8e9d2a2f3d4c5b6a79', 'hex').toString('base64url')}}C`, 'the uuid\'s 16 bytes, exactly')
  t.equal(key(uuid.toUpperCase(), 'COMPLETED'), key(uuid, 'COMPLETED'), 'the uuid in any case')
  t.equal(key(uuid, 'POST_PROCESSED'), stateChangeKey(uuid, 'POST PROCESSED'), 'the normalised state')
  t.equal(new Set(JOB_STATES.map((state) => key(uuid, state).slice(-1))).size, JOB_STATES.length, 'a letter of its own per state')
  t.match(key(uuid, 'ARCHIVED'), /^\{[\w-]{22}\}~[\w-]{11}$/, 'an undocumented state: a digest of it')
  t.not(key(uuid, 'ARCHIVED'), key(uuid, 'PAUSED'))
  t.match(key('not-a-uuid', 'COMPLETED'), /^\{[\w-]{22}\}C$/, 'any other uuid: a digest of it')
  t.equal(jobTag(uuid), key(uuid, 'FAILED').slice(0, -1))
})

test('a state change and an edit of the same job in the same state are two deliveries', async (t) => {
  const uuid = '0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79'
  const resolved = defaultIdempotencyKey({ id: '1', uuid, state: 'COMPLETED', action: 'RESOLVED' } as SuperaiEvent)
  const edited = defaultIdempotencyKey({ id: '1', uuid, state: 'COMPLETED', action: 'EDITED' } as SuperaiEvent)
  const editedAgain = defaultIdempotencyKey({ id: '1', uuid, state: 'COMPLETED', action: 'EDITED', modifiedAt: '2024-03-11T10:00:00Z' } as SuperaiEvent)
  t.not(resolved, edited)
  t.not(edited, editedAgain, 'another edit, another key')
})

test('key order never changes the key; undefined properties are skipped as JSON does', async (t) => {
  const event = { uuid: '0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79', id: '7', state: 'COMPLETED', action: 'EDITED', b: [1, { y: 2, x: 1 }], a: undefined }
  const reordered = { b: [1, { x: 1, y: 2 }], action: 'EDITED', state: 'COMPLETED', id: '7', uuid: '0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79' }
  t.equal(defaultIdempotencyKey(event as unknown as SuperaiEvent), defaultIdempotencyKey(reordered as unknown as SuperaiEvent))
  t.equal(canonicalJson(event), '{"action":"EDITED","b":[1,{"x":1,"y":2}],"id":"7","state":"COMPLETED","uuid":"0b8f7c0e-8a3b-4f8e-9d2a-2f3d4c5b6a79"}')
  t.equal(defaultIdempotencyKey(event as unknown as SuperaiEvent).length, 22)
})
