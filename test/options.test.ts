import { test } from 'tap'
import Fastify from 'fastify'
import rateLimit from '@fastify/rate-limit'
import superaiCallbacks, { codes, type SuperaiCallbacksOptions } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { callbackBody } from './helpers/callbacks.js'

const invalid: Array<[string, Record<string, unknown>]> = [
  ['path', { path: 'superai/callbacks/' }],
  ['path', { path: '/superai/callbacks' }],
  ['path', { path: '/superai/:id/' }],
  ['path', { path: 42 }],
  ['ttl', { ttl: 0 }],
  ['ttl', { ttl: 1.5 }],
  ['ttl', { ttl: '60' }],
  ['lease', { lease: -1 }],
  ['lease', { ttl: 60, lease: 60 }],
  ['bodyLimit', { bodyLimit: 0 }],
  ['keyPrefix', { keyPrefix: 7 }],
  ['idempotencyKey', { idempotencyKey: 'uuid' }],
  ['unknownValues', { unknownValues: 'drop' }],
  ['redis', { redis: 'http://127.0.0.1:6379' }],
  ['redis', { redis: 6379 }],
  ['redis', { redis: { cluster: [] } }],
  ['redis', { redis: { cluster: [{ host: '127.0.0.1' }] } }],
  ['redis', { redis: { cluster: [{ host: '127.0.0.1', port: 70000 }] } }],
  ['redis', { redis: { cluster: '127.0.0.1:7000' } }],
  ['redis', { redis: { cluster: [{ host: '127.0.0.1', port: 7000 }], options: 'fast' } }],
  ['redis', { redis: { cluster: [{ host: '127.0.0.1', port: 7000 }], host: '127.0.0.1' } }],
  ['redis', { redis: { sentinels: [], name: 'mymaster' } }],
  ['redis', { redis: { sentinels: [{ host: '127.0.0.1', port: 26379 }] } }],
  ['store', { store: { claim: () => {} } }],
  ['store', { store: { claim: () => {}, complete: () => {}, release: () => {} }, redis: 'redis://127.0.0.1:6379' }],
  ['telemetry', { telemetry: 'on' }],
  ['telemetry', { telemetry: 1 }],
  ['tll', { tll: 60 }]
]

const reconcileBase = { apiKey: 'key', appIds: ['2c4a1e3f-7b6d-4c5e-9a8b-0d1f2e3c4b5a'] }
const invalidReconcile: Array<[string, Record<string, unknown>]> = [
  ['reconcile', { reconcile: true }],
  ['reconcile.apiKey', { reconcile: { ...reconcileBase, apiKey: '' } }],
  ['reconcile.appIds', { reconcile: { ...reconcileBase, appIds: [] } }],
  ['reconcile.appIds', { reconcile: { ...reconcileBase, appIds: 'one' } }],
  ['reconcile.appIds', { reconcile: { ...reconcileBase, appIds: [''] } }],
  ['reconcile.baseUrl', { reconcile: { ...reconcileBase, baseUrl: 'api.super.ai/v1' } }],
  ['reconcile.interval', { reconcile: { ...reconcileBase, interval: 0 } }],
  ['reconcile.interval', { reconcile: { ...reconcileBase, interval: 0.5 } }],
  ['reconcile.lookback', { reconcile: { ...reconcileBase, lookback: '1d' } }],
  ['reconcile.lookback', { ttl: 3600, reconcile: { ...reconcileBase, lookback: 7200 } }],
  ['reconcile.intervall', { reconcile: { ...reconcileBase, intervall: 60 } }],
  ['reconcile', { store: { claim: () => {}, complete: () => {}, release: () => {} }, reconcile: reconcileBase }]
]

const api = { apiKey: 'api-key' }
const invalidApi: Array<[string, Record<string, unknown>]> = [
  ['api', { api: 'key' }],
  ['api', { api: [] }],
  ['api.apiKey', { api: {} }],
  ['api.apiKey', { api: { apiKey: ' ' } }],
  ['api.baseUrl', { api: { ...api, baseUrl: 'api.super.ai/v1' } }],
  ['api.timeout', { api: { ...api, timeout: 0 } }],
  ['api.timeout', { api: { ...api, timeout: 1.5 } }],
  ['api.retries', { api: { ...api, retries: 3 } }],
  ['verify.apiKey', { verify: true }],
  ['verify.apiKey', { verify: {} }],
  ['verify.apiKey', { verify: { appIds: ['a'] } }],
  ['verify.apiKey', { api, verify: { apiKey: '' } }],
  ['verify.baseUrl', { api, verify: { baseUrl: 'nope' } }],
  ['verify', { api, verify: false }],
  ['reconcile.apiKey', { reconcile: { appIds: ['a'] } }],
  ['reconcile.apiKey', { api, reconcile: { appIds: ['a'], apiKey: '' } }],
  ['reconcile.appIds', { api, reconcile: {} }]
]

for (const [option, raw] of [...invalid, ...invalidReconcile, ...invalidApi]) {
  test(`register fails with a coded error naming "${option}" for ${JSON.stringify(raw)}`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    const err = await app.register(superaiCallbacks, raw as SuperaiCallbacksOptions).ready().then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof codes.FST_SUPERAI_INVALID_OPTION, 'coded error')
    t.match((err as Error).message, `"${option}"`)
  })
}

test('defaults are applied and the caller object is neither mutated nor kept', async (t) => {
  const raw = Object.freeze({ ttl: 120, lease: 10 })
  const resolved = resolveOptions(raw)
  t.ok(Object.isFrozen(resolved))
  t.same(raw, { ttl: 120, lease: 10 })
  t.equal(resolved.ttlMs, 120_000)
  t.equal(resolved.leaseMs, 10_000)
  t.equal(resolved.path, '/superai/callbacks/')
  t.equal(resolved.keyPrefix, 'superai:callbacks:')
  t.equal(resolved.bodyLimit, 1024 * 1024)
  t.equal(resolved.unknownValues, 'accept')
  t.equal(resolved.store.kind, 'memory')
})

test('an empty keyPrefix and the root path are allowed', async (t) => {
  const resolved = resolveOptions({ keyPrefix: '', path: '/' })
  t.equal(resolved.keyPrefix, '')
  t.equal(resolved.path, '/')
})

test('ioredis options are copied, not kept by reference', async (t) => {
  const redisOptions = { host: '127.0.0.1', port: 6379 }
  const resolved = resolveOptions({ redis: redisOptions })
  t.ok(resolved.store.kind === 'redis-config' && resolved.store.options !== redisOptions)
})

test('routeConfig reaches the callback route, for plugins such as @fastify/rate-limit', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const seen: unknown[] = []
  app.addHook('onRoute', (route) => { if (route.url?.startsWith('/superai/')) seen.push(route.config) })
  await app.register(rateLimit, { global: false })
  await app.register(superaiCallbacks, { routeConfig: { rateLimit: { max: 1, timeWindow: '1 minute' } } })
  await app.ready()
  t.match(seen, [{ rateLimit: { max: 1 } }])
  const post = async (): Promise<number> => (await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: callbackBody() })).statusCode
  t.equal(await post(), 200)
  const limited = await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: callbackBody() })
  t.equal(limited.statusCode, 429, "the limiter's own 429 reaches the sender, not a 500")
  t.match(limited.json(), { statusCode: 429, code: 'FST_SUPERAI_REFUSED_BY_PLUGIN', message: /Rate limit exceeded/ })
  t.throws(() => resolveOptions({ routeConfig: [] as unknown as Record<string, unknown> }), codes.FST_SUPERAI_INVALID_OPTION)
})

test('a second registration in one scope fails with a coded error; separate contexts each get their own', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(superaiCallbacks)
  const err = await app.register(superaiCallbacks).ready().then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof codes.FST_SUPERAI_ALREADY_REGISTERED, 'coded error')
  t.equal((err as { code?: string }).code, 'FST_SUPERAI_ALREADY_REGISTERED')

  const scoped = Fastify()
  t.teardown(() => scoped.close())
  await scoped.register(async (child) => { await child.register(superaiCallbacks, { path: '/a/' }) })
  await scoped.register(async (child) => { await child.register(superaiCallbacks, { path: '/b/' }) })
  await scoped.ready()
  t.pass('two encapsulated contexts')
})

test('reconcile defaults: every 300 s, a day of lookback (ttl when shorter), the documented base URL', async (t) => {
  t.same(resolveOptions({ reconcile: reconcileBase }).reconcile, {
    apiKey: 'key', appIds: reconcileBase.appIds, baseUrl: 'https://api.super.ai/v1', intervalMs: 300_000, lookbackMs: 86_400_000
  })
  t.equal(resolveOptions({ ttl: 3600, reconcile: reconcileBase }).reconcile?.lookbackMs, 3_600_000)
  t.same(resolveOptions({ reconcile: { ...reconcileBase, appIds: ['a', 'a', 'b'] } }).reconcile?.appIds, ['a', 'b'])
  t.equal(resolveOptions({}).reconcile, undefined)
})

test('api: validated and defaulted once; absent, nothing falls back to it', async (t) => {
  t.same(resolveOptions({ api: { apiKey: 'k' } }).api, { apiKey: 'k', baseUrl: 'https://api.super.ai/v1', timeout: 30_000 })
  t.same(resolveOptions({ api: { apiKey: 'k', baseUrl: 'https://api.prod-eu.super.ai/v1', timeout: 500 } }).api,
    { apiKey: 'k', baseUrl: 'https://api.prod-eu.super.ai/v1', timeout: 500 })
  t.ok(Object.isFrozen(resolveOptions({ api: { apiKey: 'k' } }).api))
  t.equal(resolveOptions({}).api, undefined)
})

test('verify and reconcile take the key and the base URL they leave out from api, each on its own', async (t) => {
  const eu = 'https://api.prod-eu.super.ai/v1'
  const mine = 'https://proxy.example/v1'
  const withApi = { api: { apiKey: 'shared', baseUrl: eu } }
  t.same(resolveOptions({ ...withApi, verify: true }).verify, { apiKey: 'shared', baseUrl: eu, timeout: 5000 }, 'verify: true is complete')
  t.same(resolveOptions({ ...withApi, verify: { appIds: ['a'] } }).verify, { apiKey: 'shared', baseUrl: eu, timeout: 5000, appIds: ['a'] })
  t.same(resolveOptions({ ...withApi, verify: { apiKey: 'own' } }).verify, { apiKey: 'own', baseUrl: eu, timeout: 5000 }, 'its own key wins, the base URL comes from api')
  t.same(resolveOptions({ ...withApi, verify: { baseUrl: mine } }).verify, { apiKey: 'shared', baseUrl: mine, timeout: 5000 }, 'its own base URL wins, the key comes from api')
  t.same(resolveOptions({ verify: { apiKey: 'own' } }).verify, { apiKey: 'own', timeout: 5000 }, 'without api, as before: the client\'s default base URL')
  t.equal(resolveOptions({ api: { apiKey: 'shared', timeout: 9000 }, verify: true }).verify?.timeout, 5000, 'verify keeps its own short timeout')

  t.match(resolveOptions({ ...withApi, reconcile: { appIds: ['a'] } }).reconcile, { apiKey: 'shared', baseUrl: eu, appIds: ['a'] }, 'reconcile: { appIds } is complete')
  t.match(resolveOptions({ ...withApi, reconcile: { appIds: ['a'], apiKey: 'own' } }).reconcile, { apiKey: 'own', baseUrl: eu })
  t.match(resolveOptions({ ...withApi, reconcile: { appIds: ['a'], baseUrl: mine } }).reconcile, { apiKey: 'shared', baseUrl: mine })
  t.match(resolveOptions({ api: { apiKey: 'shared' }, reconcile: { appIds: ['a'] } }).reconcile, { baseUrl: 'https://api.super.ai/v1' })
})
