import { test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { codes, JOB_ACTIONS, JOB_STATES, EVENT_NAMES, type EventName, type IdempotencyStore } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { callbackBody, keysUnder, testRedis } from '../helpers/callbacks.js'
import { jobMarksKey } from '../../src/delivery/idempotency-key.js'

test('first delivery runs the handler: 200 duplicate false; a redelivery: 200 duplicate true, no handler', async (t) => {
  const { app, post } = await buildApp(t)
  const seen: string[] = []
  app.superai.onJobCompleted(async (event) => { seen.push(event.uuid) })
  const body = callbackBody()
  const first = await post(body)
  t.equal(first.statusCode, 200)
  t.same(first.json(), { ok: true, duplicate: false })
  const second = await post(body)
  t.equal(second.statusCode, 200)
  t.same(second.json(), { ok: true, duplicate: true })
  t.same(seen, [body.uuid])
})

test('a redelivery with its keys in another order is still a duplicate', async (t) => {
  const { app, post } = await buildApp(t)
  let runs = 0
  app.superai.on('callback', () => { runs++ })
  const body = callbackBody({ result: { b: 1, a: [{ y: 2, x: 1 }] } })
  await post(body)
  const reordered = Object.fromEntries(Object.entries({ ...body, result: { a: [{ x: 1, y: 2 }], b: 1 } }).reverse())
  t.not(JSON.stringify(reordered), JSON.stringify(body), 'the bytes differ')
  t.same((await post(reordered)).json(), { ok: true, duplicate: true })
  t.equal(runs, 1)
})

test('another callback for the same job (an edit, another state) is not a duplicate', async (t) => {
  const { app, post } = await buildApp(t)
  const seen: string[] = []
  app.superai.on('callback', (event) => { seen.push(`${event.state}/${event.action}`) })
  const body = callbackBody()
  t.same((await post(body)).json(), { ok: true, duplicate: false })
  t.same((await post({ ...body, action: 'EDITED' })).json(), { ok: true, duplicate: false })
  t.same((await post({ ...body, action: 'EDITED', output: { total: 3 } })).json(), { ok: true, duplicate: false })
  t.same((await post({ ...body, state: 'POST PROCESSED' })).json(), { ok: true, duplicate: false })
  t.same(seen, ['COMPLETED/RESOLVED', 'COMPLETED/EDITED', 'COMPLETED/EDITED', 'POST PROCESSED/RESOLVED'])
})

test('a repeat while the first delivery is still running: 409 with Retry-After, nothing run twice', async (t) => {
  const { app, post } = await buildApp(t, { lease: 30 })
  let runs = 0
  app.superai.onJobCompleted(async () => { runs++; await sleep(300) })
  const body = callbackBody()
  const first = post(body)
  await sleep(50)
  const second = await post(body)
  t.equal(second.statusCode, 409)
  t.equal(second.json().code, 'FST_SUPERAI_IN_FLIGHT')
  const retryAfter = Number(second.headers['retry-after'])
  t.equal(retryAfter, 1, 'handlers that take under a second ask for a retry in 1 s, not the 30 s left on the lease')
  t.equal((await first).statusCode, 200)
  t.same((await post(body)).json(), { ok: true, duplicate: true })
  t.equal(runs, 1)
})

test('Retry-After follows how long handlers take, capped at 5 s', async (t) => {
  const { app, post } = await buildApp(t, { lease: 30 }, { memory: true })
  let delay = 1100
  app.superai.onJobCompleted(async () => { await sleep(delay) })
  await post(callbackBody())
  const body = callbackBody()
  const first = post(body)
  await sleep(50)
  t.equal((await post(body)).headers['retry-after'], '2', 'after a 1.1 s run, a retry in 2 s')
  await first
  delay = 5100
  await post(callbackBody())
  const slow = callbackBody()
  const running = post(slow)
  await sleep(50)
  t.equal((await post(slow)).headers['retry-after'], '5', 'never more than 5 s')
  await running
})

test('a handler that throws: 500 coded, the claim is released and the next delivery runs again', async (t) => {
  const { app, post, logs } = await buildApp(t)
  let attempts = 0
  app.superai.onJobCompleted(async () => {
    attempts++
    if (attempts === 1) throw new Error('database down: secret-internal-detail')
  })
  const body = callbackBody()
  const failed = await post(body)
  t.equal(failed.statusCode, 500)
  t.same(Object.keys(failed.json()).sort(), ['code', 'error', 'message', 'statusCode'])
  t.equal(failed.json().code, 'FST_SUPERAI_HANDLER_FAILED')
  t.notMatch(failed.body, 'secret-internal-detail', 'no internal detail leaves the server')
  t.notMatch(failed.body, 'at ', 'no stack')
  t.ok(logs.some((l) => l.level === 50 && JSON.stringify(l).includes('secret-internal-detail')), 'the cause is logged')
  t.same((await post(body)).json(), { ok: true, duplicate: false }, 'the redelivery runs the handler')
  t.same((await post(body)).json(), { ok: true, duplicate: true })
  t.equal(attempts, 2)
})

test('several handlers on one event all run; every failure is reported', async (t) => {
  const { app, post, logs } = await buildApp(t)
  const ran: string[] = []
  app.superai.onJobCompleted(async () => { ran.push('a'); throw new Error('first failure') })
  app.superai.onJobCompleted(() => { ran.push('b') })
  app.superai.on('job.completed', () => { ran.push('c'); throw new Error('second failure') })
  app.superai.onCallback(async () => { await sleep(10); ran.push('d') })
  const res = await post(callbackBody())
  t.equal(res.statusCode, 500)
  t.match(res.json().message, /^2 of 4 callback handlers failed/)
  t.same(ran.sort(), ['a', 'b', 'c', 'd'])
  const logged = JSON.stringify(logs)
  t.match(logged, 'first failure')
  t.match(logged, 'second failure')
})

test('async handlers are awaited before the reply', async (t) => {
  const { app, post } = await buildApp(t)
  let done = false
  app.superai.onJobCompleted(async () => { await sleep(100); done = true })
  await post(callbackBody())
  t.equal(done, true)
})

test('each documented state and action reaches its own event and callback, narrowed', async (t) => {
  const { app, post } = await buildApp(t)
  const seen: Array<[EventName, string, string]> = []
  for (const name of EVENT_NAMES) {
    app.superai.on(name, (event) => { seen.push([name, event.state, String(event.action)]) })
  }
  for (const state of JOB_STATES) {
    seen.length = 0
    t.equal((await post(callbackBody({ state }))).statusCode, 200)
    const expected = `job.${state.toLowerCase().replace(/ (\w)/g, (_, c: string) => c.toUpperCase())}`
    t.same(seen.map(([name]) => name).sort(), [expected, 'callback'].sort(), `${state} -> ${expected}`)
    t.ok(seen.every(([, s, a]) => s === state && a === 'RESOLVED'))
  }
  for (const action of JOB_ACTIONS.filter((a) => a !== 'RESOLVED')) {
    seen.length = 0
    t.equal((await post(callbackBody({ action, state: 'REVIEWED' }))).statusCode, 200)
    const expected = `job.${action.toLowerCase().replace(/ (\w)/g, (_, c: string) => c.toUpperCase())}`
    t.same(seen.map(([name]) => name).sort(), [expected, 'callback'].sort(), `${action} -> ${expected}`)
  }
})

test('underscore and lower-case spellings are normalised to the documented values', async (t) => {
  const { app, post } = await buildApp(t)
  const seen: string[] = []
  app.superai.onJobPostProcessed((event) => { seen.push(`${event.state}/${event.action}`) })
  app.superai.onJobTagAdded((event) => { seen.push(`${event.state}/${event.action}`) })
  await post(callbackBody({ state: 'POST_PROCESSED' }))
  await post(callbackBody({ state: 'post processed', action: 'resolved' }))
  await post(callbackBody({ action: 'TAG_ADDED' }))
  t.same(seen, ['POST PROCESSED/RESOLVED', 'POST PROCESSED/RESOLVED', 'COMPLETED/TAG ADDED'])
})

test('an undocumented value is accepted, warned about, and dispatched to callback only', async (t) => {
  const { app, post, logs } = await buildApp(t)
  const seen: string[] = []
  for (const name of EVENT_NAMES) app.superai.on(name, (event) => { seen.push(`${name}:${event.state}`) })
  const res = await post(callbackBody({ state: 'ARCHIVED' }))
  t.same(res.json(), { ok: true, duplicate: false })
  t.same(seen, ['callback:ARCHIVED'])
  t.ok(logs.some((l) => l.level === 40 && l.value === 'ARCHIVED' && l.field === 'state'))
  seen.length = 0
  await post(callbackBody({ action: 'COMMENTED' }))
  t.same(seen, ['callback:COMPLETED'])
})

test('unknownValues: "reject" answers 400 and stores nothing', async (t) => {
  const { app, post, prefix } = await buildApp(t, { unknownValues: 'reject' })
  let runs = 0
  app.superai.on('callback', () => { runs++ })
  const res = await post(callbackBody({ action: 'COMMENTED' }))
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'FST_SUPERAI_UNKNOWN_VALUE')
  t.match(res.json().message, 'COMMENTED')
  const redis = testRedis()
  t.same(await keysUnder(redis, prefix), [])
  await redis.quit()
  t.equal(runs, 0)
  t.equal((await post(callbackBody())).statusCode, 200, 'documented values still pass')
})

test('handlers get a string id, a boolean flag, every extra property, and the context', async (t) => {
  const { app, post, prefix } = await buildApp(t)
  const events: unknown[] = []
  app.superai.onJobCompleted((event, context) => {
    events.push({ event, key: context.key, source: context.source, url: context.source === 'http' ? context.request.url : undefined, hasLog: typeof context.log.info === 'function' })
  })
  const body = callbackBody({ id: 1234, postProcessingEnabled: 'true', output: { fields: [1, 2] }, appId: 'abc' })
  await post(body)
  await post(callbackBody({ id: '77', postProcessingEnabled: false }))
  t.match(events[0], {
    event: { id: '1234', uuid: body.uuid, state: 'COMPLETED', action: 'RESOLVED', postProcessingEnabled: true, output: { fields: [1, 2] }, appId: 'abc' },
    source: 'http',
    url: '/superai/callbacks/',
    hasLog: true
  })
  t.match((events[0] as { key: string }).key, new RegExp(`^${prefix}\\{[\\w-]{22}\\}C$`), 'the job\'s tag and its state\'s letter after the prefix')
  t.match(events[1], { event: { id: '77', postProcessingEnabled: false } })
})

test('idempotencyKey overrides the key; a bad key is a coded 500 with nothing run', async (t) => {
  const { app, post, prefix } = await buildApp(t, { idempotencyKey: (event) => event.uuid })
  let runs = 0
  app.superai.on('callback', () => { runs++ })
  const body = callbackBody()
  await post(body)
  t.same((await post({ ...body, action: 'EDITED' })).json(), { ok: true, duplicate: true }, 'one key per job now')
  const redis = testRedis()
  // the callback's key, and its job's processed states (a state change), whatever idempotencyKey says
  t.same((await keysUnder(redis, prefix)).sort(), [`${prefix}${String(body.uuid)}`, `${prefix}${jobMarksKey(String(body.uuid))}`].sort())
  await redis.quit()
  t.equal(runs, 1)

  const bad = await buildApp(t, { idempotencyKey: () => '' })
  let badRuns = 0
  bad.app.superai.on('callback', () => { badRuns++ })
  const res = await bad.post(callbackBody())
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_SUPERAI_INVALID_IDEMPOTENCY_KEY')
  t.equal(badRuns, 0)
})

test('an idempotencyKey that throws: a coded 500, nothing run, and the error logged at error level', async (t) => {
  const { app, post, logs } = await buildApp(t, { idempotencyKey: () => { throw new Error('key-function-broke') } })
  let runs = 0
  app.superai.on('callback', () => { runs++ })
  const res = await post(callbackBody())
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_SUPERAI_INTERNAL')
  t.notMatch(res.body, /key-function-broke/, 'the message stays in the log')
  t.equal(runs, 0)
  t.ok(logs.some((l) => l.level === 50 && JSON.stringify(l.err).includes('key-function-broke')), 'logged at error, with the error')
})

test('the store unreachable: 503 coded, nothing run', async (t) => {
  const failing: IdempotencyStore = {
    claim: async () => { throw new Error('ECONNREFUSED 10.0.0.1:6379') },
    complete: async () => true,
    release: async () => true
  }
  const { app, post } = await buildApp(t, { store: failing })
  let runs = 0
  app.superai.on('callback', () => { runs++ })
  const res = await post(callbackBody())
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_SUPERAI_STORE_UNAVAILABLE')
  t.notMatch(res.body, 'ECONNREFUSED')
  t.equal(runs, 0)
})

test('bad input: coded 400/413/415, nothing stored, nothing run', async (t) => {
  const { app, post, prefix } = await buildApp(t, { bodyLimit: 1024 })
  let runs = 0
  app.superai.on('callback', () => { runs++ })
  const cases: Array<[string, unknown, number, string, Record<string, string>?]> = [
    ['malformed JSON', '{"uuid": ', 400, 'FST_SUPERAI_INVALID_JSON'],
    ['empty body', '', 400, 'FST_SUPERAI_INVALID_JSON'],
    ['an array', [callbackBody()], 400, 'FST_SUPERAI_INVALID_BODY'],
    ['null', 'null', 400, 'FST_SUPERAI_INVALID_BODY'],
    ['a number', '7', 400, 'FST_SUPERAI_INVALID_BODY'],
    ['uuid not a uuid', callbackBody({ uuid: 'not-a-uuid' }), 400, 'FST_SUPERAI_INVALID_BODY'],
    ['missing uuid', { id: '1', state: 'COMPLETED', action: 'RESOLVED' }, 400, 'FST_SUPERAI_INVALID_BODY'],
    ['state a number', callbackBody({ state: 7 }), 400, 'FST_SUPERAI_INVALID_BODY'],
    ['id a boolean', callbackBody({ id: true }), 400, 'FST_SUPERAI_INVALID_BODY'],
    ['id a float', callbackBody({ id: 1.5 }), 400, 'FST_SUPERAI_INVALID_BODY'],
    ['flag "yes"', callbackBody({ postProcessingEnabled: 'yes' }), 400, 'FST_SUPERAI_INVALID_BODY'],
    ['__proto__', `{"__proto__":{"polluted":true},"id":"1","uuid":"${String(callbackBody().uuid)}","state":"COMPLETED","action":"RESOLVED"}`, 400, 'FST_SUPERAI_INVALID_JSON'],
    ['constructor.prototype', `{"constructor":{"prototype":{"polluted":true}},"id":"1","uuid":"${String(callbackBody().uuid)}","state":"COMPLETED","action":"RESOLVED"}`, 400, 'FST_SUPERAI_INVALID_JSON'],
    ['oversize', callbackBody({ padding: 'x'.repeat(2000) }), 413, 'FST_SUPERAI_BODY_TOO_LARGE'],
    ['text/plain', JSON.stringify(callbackBody()), 415, 'FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE', { 'content-type': 'text/plain' }],
    ['form', 'a=1', 415, 'FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE', { 'content-type': 'application/x-www-form-urlencoded' }]
  ]
  for (const [name, body, status, code, headers] of cases) {
    const res = await post(body, headers)
    t.equal(res.statusCode, status, `${name}: status`)
    t.equal(res.json().code, code, `${name}: code`)
    t.same(Object.keys(res.json()).sort(), ['code', 'error', 'message', 'statusCode'], `${name}: Fastify's error shape, no stack`)
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  const redis = testRedis()
  t.same(await keysUnder(redis, prefix), [], 'nothing stored')
  await redis.quit()
  t.equal(runs, 0, 'nothing dispatched')
})

test('validation is the plugin\'s own: the host\'s AJV coercion and removal do not apply', async (t) => {
  const { app, post } = await buildApp(t, {}, {
    server: { ajv: { customOptions: { coerceTypes: 'array', removeAdditional: 'all', useDefaults: true } } }
  })
  const events: Array<Record<string, unknown>> = []
  app.superai.on('callback', (event) => { events.push(event) })
  t.equal((await post(callbackBody({ state: 7 }))).statusCode, 400, 'no number-to-string coercion')
  t.equal((await post(callbackBody({ id: [1] }))).statusCode, 400, 'no array unwrapping')
  await post(callbackBody({ kept: { deep: true } }))
  t.same(events[0]?.kept, { deep: true }, 'extra properties kept')
})

test('each accepted callback is logged with uuid, state, action and duplicate', async (t) => {
  const { post, logs } = await buildApp(t)
  const body = callbackBody()
  await post(body)
  await post(body)
  const accepted = logs.filter((l) => l.msg === 'super.AI callback accepted')
  t.match(accepted, [
    { uuid: body.uuid, state: 'COMPLETED', action: 'RESOLVED', duplicate: false },
    { uuid: body.uuid, state: 'COMPLETED', action: 'RESOLVED', duplicate: true }
  ])
})

test('subscribing: unknown names and non-functions are refused; unsubscribe removes the handler', async (t) => {
  const { app, post } = await buildApp(t, {}, { memory: true })
  t.throws(() => app.superai.on('job.done' as EventName, () => {}), codes.FST_SUPERAI_UNKNOWN_EVENT)
  t.throws(() => app.superai.on('callback', 'nope' as unknown as () => void), codes.FST_SUPERAI_INVALID_HANDLER)
  let runs = 0
  const off = app.superai.onCallback(() => { runs++ })
  await post(callbackBody())
  off()
  await post(callbackBody())
  t.equal(runs, 1)
})

test('a custom path, and the in-memory store when no redis is given', async (t) => {
  const { app, post } = await buildApp(t, { path: '/hooks/superai/' }, { memory: true })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  const body = callbackBody()
  t.same((await post(body)).json(), { ok: true, duplicate: false })
  t.same((await post(body)).json(), { ok: true, duplicate: true })
  t.equal(runs, 1)
  const other = await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: body })
  t.equal(other.statusCode, 404)
})

test('the plugin\'s JSON parser and error handler stay on its route', async (t) => {
  const { app } = await buildApp(t, {}, { memory: true, server: { onProtoPoisoning: 'remove' } })
  await app.register(async (scope) => {
    scope.post('/other', async (request) => ({ got: request.body }))
  })
  const res = await app.inject({ method: 'POST', url: '/other', payload: '{"__proto__":{"x":1},"a":1}', headers: { 'content-type': 'application/json' } })
  t.equal(res.statusCode, 200, 'the host keeps its own onProtoPoisoning setting')
  t.same(res.json(), { got: { a: 1 } })
  const bad = await app.inject({ method: 'POST', url: '/other', payload: '{', headers: { 'content-type': 'application/json' } })
  t.notMatch(bad.json().code, /^FST_SUPERAI_/, 'and its own error codes')
})

test('stats() counts every delivery by outcome, refusals before the pipeline included', async (t) => {
  const { app, post } = await buildApp(t, { secret: 'a-secret-of-16-chars-or-more', secretIn: 'header', bodyLimit: 2048 }, { memory: true })
  let fail = true
  app.superai.onCallback(() => { if (fail) { fail = false; throw new Error('once') } })
  const headers = { 'x-superai-token': 'a-secret-of-16-chars-or-more' }
  const body = callbackBody()
  t.equal((await post(body, headers)).statusCode, 500)
  t.equal((await post(body, headers)).statusCode, 200)
  t.equal((await post(body, headers)).statusCode, 200)
  t.equal((await post(body)).statusCode, 401)
  t.equal((await post('{', headers)).statusCode, 400)
  t.equal((await post(callbackBody({ uuid: 'nope' }), headers)).statusCode, 400)
  t.equal((await post({ ...callbackBody(), pad: 'x'.repeat(4096) }, headers)).statusCode, 413)
  t.equal((await app.inject({ method: 'POST', url: '/superai/callbacks/', headers: { ...headers, 'content-type': 'text/plain' }, payload: 'x' })).statusCode, 415)
  t.same(app.superai.stats(), {
    received: 8,
    processed: 1,
    queued: 0,
    duplicate: 1,
    superseded: 0,
    inFlight: 0,
    failed: 1,
    rejected: 5,
    storeUnavailable: 0,
    verifyUnavailable: 0,
    error: 0,
    deadLettered: 0,
    replayed: 0,
    reconciled: 0,
    reconcilePasses: 0,
    reconcileErrors: 0
  })
  t.ok(Object.isFrozen(app.superai.stats()), 'a snapshot, not the live counters')
})
