import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import superaiCallbacks, { EVENT_NAMES } from '../../src/index.js'
import { REDIS_URL, deleteUnder, keysUnder, testRedis } from '../helpers/callbacks.js'
import { code, codeOf, listenLocal, postCallback, type HttpReply, type PostOptions } from '../helpers/http.js'
import type { SuperaiErrorCode } from '../../src/index.js'

/** Bodies the endpoint refuses: each answered with its coded error, nothing written to Redis, no handler called. */

const BODY_LIMIT = 1024
const valid = (): Record<string, unknown> => ({ id: '42', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED' })
const json = (value: unknown): string => JSON.stringify(value)
/** A valid callback as JSON text with `extra` spliced in verbatim (JSON.stringify would drop a __proto__ key). */
const withRaw = (extra: string): string => `{${extra},${json(valid()).slice(1)}`

interface BadDelivery {
  readonly name: string
  readonly status: 400 | 413 | 415
  readonly code: SuperaiErrorCode
  readonly options: PostOptions
}

const asJson = (rawBody: string | Uint8Array): PostOptions => ({ rawBody, headers: { 'content-type': 'application/json' } })

function * oversizeChunks (): Generator<Uint8Array> {
  const chunk = new TextEncoder().encode(' '.repeat(256))
  yield new TextEncoder().encode(json(valid()).slice(0, -1) + ',"pad":"')
  for (let i = 0; i < 16; i++) yield chunk
  yield new TextEncoder().encode('"}')
}

const BAD: readonly BadDelivery[] = [
  { name: 'malformed JSON', status: 400, code: code('FST_SUPERAI_INVALID_JSON'), options: asJson('{"id": "42", "uuid": ') },
  { name: 'trailing garbage', status: 400, code: code('FST_SUPERAI_INVALID_JSON'), options: asJson(json(valid()) + 'x') },
  { name: 'empty body', status: 400, code: code('FST_SUPERAI_INVALID_JSON'), options: asJson('') },
  { name: 'uuid not a UUID', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json({ ...valid(), uuid: 'not-a-uuid' })) },
  { name: 'uuid missing', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json({ ...valid(), uuid: undefined })) },
  { name: 'id a float', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json({ ...valid(), id: 4.2 })) },
  { name: 'id a boolean', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json({ ...valid(), id: true })) },
  { name: 'id negative', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json({ ...valid(), id: -1 })) },
  { name: 'state a number', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json({ ...valid(), state: 7 })) },
  { name: 'action null', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json({ ...valid(), action: null })) },
  { name: 'postProcessingEnabled "yes"', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json({ ...valid(), postProcessingEnabled: 'yes' })) },
  { name: 'an array of callbacks', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson(json([valid()])) },
  { name: 'an empty array', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson('[]') },
  { name: 'null', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson('null') },
  { name: 'a string', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson('"COMPLETED"') },
  { name: 'a number', status: 400, code: code('FST_SUPERAI_INVALID_BODY'), options: asJson('42') },
  {
    name: '__proto__ key',
    status: 400,
    code: code('FST_SUPERAI_INVALID_JSON'),
    options: asJson(withRaw('"__proto__":{"polluted":"yes","state":"FAILED"}'))
  },
  {
    name: 'nested __proto__ key',
    status: 400,
    code: code('FST_SUPERAI_INVALID_JSON'),
    options: asJson(withRaw('"results":{"__proto__":{"polluted":"yes"}}'))
  },
  {
    name: 'constructor.prototype key',
    status: 400,
    code: code('FST_SUPERAI_INVALID_JSON'),
    options: asJson(withRaw('"constructor":{"prototype":{"polluted":"yes"}}'))
  },
  {
    name: 'body over bodyLimit (content-length)',
    status: 413,
    code: code('FST_SUPERAI_BODY_TOO_LARGE'),
    options: asJson(json({ ...valid(), results: 'x'.repeat(BODY_LIMIT) }))
  },
  {
    name: 'body over bodyLimit (chunked, no content-length)',
    status: 413,
    code: code('FST_SUPERAI_BODY_TOO_LARGE'),
    options: { headers: { 'content-type': 'application/json' }, rawBody: ReadableStream.from(oversizeChunks()) }
  },
  { name: 'text/plain', status: 415, code: code('FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE'), options: { rawBody: json(valid()), headers: { 'content-type': 'text/plain' } } },
  {
    name: 'application/x-www-form-urlencoded',
    status: 415,
    code: code('FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE'),
    options: { rawBody: 'id=42&state=COMPLETED&action=RESOLVED', headers: { 'content-type': 'application/x-www-form-urlencoded' } }
  },
  {
    name: 'multipart/form-data',
    status: 415,
    code: code('FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE'),
    options: { rawBody: '--b\r\n\r\n--b--\r\n', headers: { 'content-type': 'multipart/form-data; boundary=b' } }
  },
  // a Uint8Array body makes fetch send no content-type at all
  { name: 'missing content-type', status: 415, code: code('FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE'), options: { rawBody: new TextEncoder().encode(json(valid())) } }
]

test('bad bodies write nothing to Redis and call no handler', async (t) => {
  const keyPrefix = `test:no-side-effects:${process.pid}:${randomUUID()}:`
  const redis = testRedis()
  t.teardown(async () => {
    try {
      await deleteUnder(redis, keyPrefix)
    } finally {
      await redis.quit()
    }
  })
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix, bodyLimit: BODY_LIMIT })
  const called: string[] = []
  for (const name of EVENT_NAMES) app.superai.on(name, () => { called.push(name) })
  const url = await listenLocal(app)

  for (const bad of BAD) {
    const reply: HttpReply = await postCallback(url, undefined, bad.options)
    t.equal(reply.status, bad.status, `${bad.name}: ${bad.status}`)
    t.equal(codeOf(reply), bad.code, `${bad.name}: ${bad.code}`)
    const body = reply.json as Record<string, unknown> | undefined
    t.same(Object.keys(body ?? {}).sort(), ['code', 'error', 'message', 'statusCode'], `${bad.name}: Fastify's error shape, no stack`)
    t.equal(body?.statusCode, bad.status, `${bad.name}: statusCode in the body`)
    t.notOk(/\n\s+at |node_modules|\/src\//.test(reply.text), `${bad.name}: no stack trace or path in the body`)
  }

  t.same(await keysUnder(redis, keyPrefix), [], 'no key was written under this test\'s prefix')
  t.same(called, [], 'no handler was called')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is not polluted')
  t.notOk(Object.hasOwn(Object.prototype, 'polluted'), 'no own "polluted" on Object.prototype')
  t.equal(Object.getPrototypeOf({}), Object.prototype, '{} still has Object.prototype')

  // the control: the same app, prefix and scan do see a valid callback, so the checks above can fail
  const ok = await postCallback(url, valid())
  t.same(ok.json, { ok: true, duplicate: false }, 'a valid callback is processed')
  t.equal((await keysUnder(redis, keyPrefix)).length, 1, 'and writes its one key under the prefix (which also holds its job\'s processed state)')
  t.same(called.sort(), ['callback', 'job.completed'], 'and reaches the handlers')
})

test('unknownValues: "reject" refuses an undocumented value before anything is stored', async (t) => {
  const keyPrefix = `test:no-side-effects:${process.pid}:${randomUUID()}:`
  const redis = testRedis()
  t.teardown(async () => {
    try {
      await deleteUnder(redis, keyPrefix)
    } finally {
      await redis.quit()
    }
  })
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix, unknownValues: 'reject' })
  const called: string[] = []
  for (const name of EVENT_NAMES) app.superai.on(name, () => { called.push(name) })
  const url = await listenLocal(app)

  for (const overrides of [{ state: 'ARCHIVED' }, { action: 'REASSIGNED' }]) {
    const reply = await postCallback(url, { ...valid(), ...overrides })
    t.equal(reply.status, 400, `${JSON.stringify(overrides)}: 400`)
    t.equal(codeOf(reply), code('FST_SUPERAI_UNKNOWN_VALUE'))
  }
  t.same(await keysUnder(redis, keyPrefix), [], 'no key was written')
  t.same(called, [], 'no handler was called')

  const ok = await postCallback(url, valid())
  t.same(ok.json, { ok: true, duplicate: false }, 'control: a documented callback is processed')
  t.equal((await keysUnder(redis, keyPrefix)).length, 1, 'and writes its one key (which also holds its job\'s processed state)')
})
