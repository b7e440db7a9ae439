import { test } from 'tap'
import fc from 'fast-check'
import { Value } from '@sinclair/typebox/value'
import { CallbackBodySchema } from '../../src/schema.js'
import { buildApp } from '../helpers/app.js'
import { callbackBody, keysUnder, testRedis } from '../helpers/callbacks.js'

const SECRET = 'fuzz-secret-0123456789abcdef'

/** Bodies near the schema's edges: valid ones, broken ones, and arbitrary JSON. */
const validish = fc.record({
  id: fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.nat()),
  uuid: fc.uuid(),
  state: fc.constantFrom('COMPLETED', 'FAILED', 'POST_PROCESSED', 'NEEDS REVIEW', 'SOMETHING NEW'),
  action: fc.constantFrom('RESOLVED', 'EDITED', 'tag_added'),
  extra: fc.jsonValue()
}, { requiredKeys: ['id', 'uuid', 'state', 'action'] })

const bodies = fc.oneof(
  { arbitrary: validish, weight: 3 },
  fc.record({
    id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)),
    uuid: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
    state: fc.oneof(fc.constantFrom('COMPLETED', 'FAILED', 'POST_PROCESSED', 'weird', ''), fc.string(), fc.integer()),
    action: fc.oneof(fc.constantFrom('RESOLVED', 'EDITED', 'TAG ADDED'), fc.string()),
    postProcessingEnabled: fc.oneof(fc.boolean(), fc.constantFrom('true', 'false', 'yes'), fc.integer())
  }, { requiredKeys: [] }),
  fc.jsonValue()
).map((value) => JSON.stringify(value))

const payloads = fc.oneof({ arbitrary: bodies, weight: 6 }, fc.string(), fc.constantFrom('{"__proto__":{"x":1}}', '{', '', 'null'))
const contentTypes = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 4 },
  fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '')
)
const tokens = fc.oneof({ arbitrary: fc.constant(SECRET), weight: 4 }, fc.string({ maxLength: 40 }), fc.constant(SECRET.slice(1)))

test('random bodies, headers and tokens never crash, and nothing is dispatched or stored unless valid and authorised', async (t) => {
  const { app, prefix } = await buildApp(t, { secret: SECRET, secretIn: 'header', bodyLimit: 4096 })
  let dispatched = 0
  app.superai.onCallback(() => { dispatched++ })
  const redis = testRedis()
  t.teardown(() => redis.quit())
  let accepted = 0

  await fc.assert(fc.asyncProperty(payloads, contentTypes, tokens, async (payload, contentType, token) => {
    const headers: Record<string, string> = { 'x-superai-token': token }
    if (contentType !== '') headers['content-type'] = contentType
    const before = { dispatched, keys: (await keysUnder(redis, prefix)).length }
    const res = await app.inject({ method: 'POST', url: '/superai/callbacks/', payload, headers })

    let parsed: unknown
    try { parsed = JSON.parse(payload) } catch { parsed = undefined }
    const valid = token === SECRET && contentType.startsWith('application/json') && !payload.includes('__proto__') &&
      Buffer.byteLength(payload) <= 4096 &&
      Value.Check(CallbackBodySchema, parsed)
    const body = res.json() as Record<string, unknown>
    const after = { dispatched, keys: (await keysUnder(redis, prefix)).length }

    if (res.statusCode >= 500) return false // never a crash
    if (!valid) {
      // refused: coded, and no side effect at all
      return res.statusCode >= 400 && String(body.code).startsWith('FST_SUPERAI_') &&
        after.dispatched === before.dispatched && after.keys === before.keys
    }
    accepted++
    return res.statusCode === 200 && body.ok === true
  }), { numRuns: 400, seed: 20261123 })

  t.ok(accepted > 10, `the generators reach valid callbacks too (${accepted})`)
  t.equal((await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: callbackBody(), headers: { 'x-superai-token': SECRET } })).statusCode, 200, 'still serving')
})
