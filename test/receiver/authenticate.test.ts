import { test } from 'tap'
import Fastify from 'fastify'
import superaiCallbacks, { codes } from '../../src/index.js'
import { redactUrl, tokenMatches, hashSecrets } from '../../src/receiver/authenticate.js'
import type * as Authenticate from '../../src/receiver/authenticate.js'
import { buildApp, warnLines } from '../helpers/app.js'
import { callbackBody, keysUnder, testRedis } from '../helpers/callbacks.js'

const SECRET = 'current-secret-0123456789'
const OLD_SECRET = 'previous-secret-987654321'

test('secret in the path: right token 200; wrong, missing or partial 401 before anything is stored', async (t) => {
  const { app, prefix, logs } = await buildApp(t, { secret: [SECRET, OLD_SECRET] })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const send = (url: string, body: unknown = callbackBody()) => app.inject({ method: 'POST', url, payload: body as Record<string, unknown> })

  t.equal((await send(`/superai/callbacks/${SECRET}/`)).statusCode, 200)
  t.equal((await send(`/superai/callbacks/${OLD_SECRET}/`)).statusCode, 200, 'the rotated-out secret still works')
  const refused = [
    '/superai/callbacks/',
    '/superai/callbacks/wrong-secret-0123456789/',
    `/superai/callbacks/${SECRET.slice(0, -1)}/`,
    `/superai/callbacks/${SECRET}x/`
  ]
  const redis = testRedis()
  t.teardown(() => redis.quit())
  const before = (await keysUnder(redis, prefix)).length
  for (const url of refused) {
    const res = await send(url, '{not even json')
    t.equal(res.statusCode, 401, url)
    t.equal(res.json().code, 'FST_SUPERAI_UNAUTHORIZED', 'checked before the body is parsed')
    t.notMatch(res.body, SECRET)
  }
  t.equal((await keysUnder(redis, prefix)).length, before, 'nothing stored for refused deliveries')
  t.equal(runs, 2)
  t.notMatch(JSON.stringify(logs), SECRET, 'the token never reaches the logs')
  t.notMatch(JSON.stringify(logs), OLD_SECRET)
  t.ok(logs.some((l) => (l.req as { url?: string } | undefined)?.url === '/superai/callbacks/[redacted]/'), 'the URL is logged redacted')
})

test('secret in a header; each 401 is one warn line with its code, status and reason, never the token', async (t) => {
  const { app, post, logs } = await buildApp(t, { secret: SECRET, secretIn: 'header' }, { memory: true })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  t.equal((await post(callbackBody(), { 'x-superai-token': SECRET })).statusCode, 200)
  t.same(warnLines(logs), [], 'an accepted callback writes no warn line')
  t.equal((await post(callbackBody(), { 'x-superai-token': OLD_SECRET })).statusCode, 401)
  t.equal((await post(callbackBody())).statusCode, 401)
  t.equal(runs, 1)
  const warned = warnLines(logs)
  t.match(warned, [
    { code: 'FST_SUPERAI_UNAUTHORIZED', statusCode: 401, reason: 'the token matches no secret', ip: '127.0.0.1', msg: 'super.AI callback refused: the token matches no secret' },
    { code: 'FST_SUPERAI_UNAUTHORIZED', statusCode: 401, reason: 'no token presented', ip: '127.0.0.1' }
  ])
  t.equal(warned.length, 2, 'one line per refusal')
  t.notMatch(JSON.stringify(logs), OLD_SECRET, 'the wrong token is not logged either')
})

test('secret in the query string, redacted in logs', async (t) => {
  const { app, logs } = await buildApp(t, { secret: SECRET, secretIn: 'query' }, { memory: true })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const send = (url: string) => app.inject({ method: 'POST', url, payload: callbackBody() })
  t.equal((await send(`/superai/callbacks/?token=${SECRET}`)).statusCode, 200)
  t.equal((await send('/superai/callbacks/?token=nope')).statusCode, 401)
  t.equal((await send('/superai/callbacks/')).statusCode, 401)
  t.equal((await send(`/superai/callbacks/?token=${SECRET}&token=${SECRET}`)).statusCode, 401, 'a repeated parameter is not a token')
  t.equal(runs, 1)
  t.notMatch(JSON.stringify(logs), SECRET)
})

test('callbackUrl() gives the exact URL to hand super.AI, token and prefix included', async (t) => {
  const inPath = await buildApp(t, { secret: [SECRET, OLD_SECRET] }, { memory: true })
  t.equal(inPath.app.superai.callbackUrl('https://example.com'), `https://example.com/superai/callbacks/${SECRET}/`)
  t.equal(inPath.app.superai.callbackUrl('https://example.com/base/'), `https://example.com/base/superai/callbacks/${SECRET}/`)
  const inQuery = await buildApp(t, { secret: SECRET, secretIn: 'query' }, { memory: true })
  t.equal(inQuery.app.superai.callbackUrl('http://10.0.0.1:8080'), `http://10.0.0.1:8080/superai/callbacks/?token=${SECRET}`)
  const plain = await buildApp(t, {}, { memory: true })
  t.equal(plain.app.superai.callbackUrl('https://example.com'), 'https://example.com/superai/callbacks/')
  t.throws(() => plain.app.superai.callbackUrl('ftp://example.com'), codes.FST_SUPERAI_INVALID_CALLBACK_URL)

  const app = Fastify()
  t.teardown(() => app.close())
  let url = ''
  await app.register(async (api) => {
    await api.register(superaiCallbacks, { secret: SECRET })
    url = api.superai.callbackUrl('https://example.com')
    api.superai.onCallback(() => {})
  }, { prefix: '/api' })
  t.equal(url, `https://example.com/api/superai/callbacks/${SECRET}/`)
  const res = await app.inject({ method: 'POST', url: new URL(url).pathname, payload: callbackBody() })
  t.equal(res.statusCode, 200, 'the URL it gives is the one that works')
})

test('allowFrom: addresses outside the list get 403 before anything else', async (t) => {
  const { app, logs } = await buildApp(t, { allowFrom: ['10.1.0.0/16', '192.168.7.7'] }, { memory: true })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/superai/callbacks/', payload: callbackBody(), remoteAddress, headers })
  t.equal((await from('10.1.200.3')).statusCode, 200)
  t.equal((await from('192.168.7.7')).statusCode, 200)
  t.equal((await from('::ffff:10.1.0.9')).statusCode, 200, 'IPv4-mapped IPv6')
  const refused = await from('10.2.0.1')
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'FST_SUPERAI_FORBIDDEN')
  t.equal((await from('127.0.0.1', { 'x-forwarded-for': '10.1.0.1' })).statusCode, 403, 'X-Forwarded-For ignored without trustProxy')
  t.equal(runs, 3)
  t.match(warnLines(logs), [
    { code: 'FST_SUPERAI_FORBIDDEN', statusCode: 403, reason: 'address not in allowFrom', ip: '10.2.0.1', msg: 'super.AI callback refused: address not in allowFrom' },
    { code: 'FST_SUPERAI_FORBIDDEN', statusCode: 403, reason: 'address not in allowFrom', ip: '127.0.0.1' }
  ])
  t.equal(warnLines(logs).length, 2, 'one warn line per refusal')
})

test('allowFrom with trustProxy: the forwarded client address decides', async (t) => {
  const { app } = await buildApp(t, { allowFrom: ['10.1.0.0/16'] }, { memory: true, server: { trustProxy: '127.0.0.1' } })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const from = (remoteAddress: string, forwarded: string) => app.inject({
    method: 'POST', url: '/superai/callbacks/', payload: callbackBody(), remoteAddress, headers: { 'x-forwarded-for': forwarded }
  })
  t.equal((await from('127.0.0.1', '10.1.0.1')).statusCode, 200, 'trusted proxy forwards an allowed client')
  t.equal((await from('127.0.0.1', '8.8.8.8')).statusCode, 403, 'trusted proxy forwards a refused client')
  t.equal((await from('10.9.9.9', '10.1.0.1')).statusCode, 403, 'an untrusted hop cannot claim an allowed address')
  t.equal(runs, 1)
})

test('security options are validated', async (t) => {
  const bad: Array<[string, Record<string, unknown>]> = [
    ['secret', { secret: 'short' }],
    ['secret', { secret: [] }],
    ['secret', { secret: ['has a space in it!!!!!'] }],
    ['secretIn', { secret: SECRET, secretIn: 'cookie' }],
    ['secretIn', { secretIn: 'header' }],
    ['allowFrom', { allowFrom: ['10.0.0.0/33'] }],
    ['allowFrom', { allowFrom: ['example.com'] }],
    ['allowFrom', { allowFrom: [] }],
    ['verify.apiKey', { verify: { apiKey: '' } }],
    ['verify.baseUrl', { verify: { apiKey: 'k', baseUrl: 'api.super.ai' } }],
    ['verify.timeout', { verify: { apiKey: 'k', timeout: 0 } }],
    ['verify.apikey', { verify: { apiKey: 'k', apikey: 'k' } }]
  ]
  for (const [option, raw] of bad) {
    const app = Fastify()
    const err = await app.register(superaiCallbacks, raw).ready().then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof codes.FST_SUPERAI_INVALID_OPTION, `${JSON.stringify(raw)} refused`)
    t.match((err as Error).message, `"${option}"`)
    await app.close()
  }
})

test('token comparison: hashed to one length, every secret compared', async (t) => {
  const secrets = hashSecrets([SECRET, OLD_SECRET])
  t.equal(tokenMatches(SECRET, secrets), true)
  t.equal(tokenMatches(OLD_SECRET, secrets), true)
  t.equal(tokenMatches('x', secrets), false, 'a shorter candidate does not throw')
  t.equal(tokenMatches(SECRET + SECRET, secrets), false)
  t.equal(tokenMatches(undefined, secrets), false)
})

test('the comparison goes through crypto.timingSafeEqual, once per secret', async (t) => {
  const calls: number[] = []
  const crypto = await import('node:crypto')
  const { tokenMatches: mocked, hashSecrets: hash } = await t.mockImport<typeof Authenticate>('../../src/receiver/authenticate.js', {
    'node:crypto': {
      ...crypto,
      timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
        calls.push(a.byteLength)
        return crypto.timingSafeEqual(a, b)
      }
    }
  })
  t.equal(mocked(SECRET, hash([OLD_SECRET, SECRET, 'third-secret-000000000'])), true)
  t.same(calls, [32, 32, 32], 'every secret compared, even after a match, on 32-byte digests')
})

test('redactUrl hides the token wherever it travels', async (t) => {
  t.equal(redactUrl(`/a/b/${SECRET}/`, 'path'), '/a/b/[redacted]/')
  t.equal(redactUrl(`/a/b/${SECRET}/?x=1`, 'path'), '/a/b/[redacted]/?x=1')
  t.equal(redactUrl(`/a/?token=${SECRET}&x=1`, 'query'), '/a/?token=%5Bredacted%5D&x=1')
  t.equal(redactUrl('/a/', 'header'), '/a/')
})
