import { randomUUID } from 'node:crypto'
import { test } from 'tap'
import { BATCH_STATES, EVENT_NAMES, type HandlerContext, type SuperaiEvent } from '../../src/index.js'
import { batchIdempotencyKey } from '../../src/delivery/idempotency-key.js'
import { buildApp, warnLines } from '../helpers/app.js'
import { callbackBody, keysUnder, testRedis } from '../helpers/callbacks.js'

/** A v2 batch callback as super.AI documents it ("Job batch callbacks"). */
const batchBody = (fields: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ version: '2', entityType: 'batch', entityId: randomUUID(), state: 'COMPLETED', appId: randomUUID(), ...fields })

test('a batch callback is 200 and runs batch.completed and entity once; a redelivery is a duplicate; callback never sees it', async (t) => {
  const { app, post, prefix } = await buildApp(t)
  const seen: string[] = []
  const contexts: HandlerContext[] = []
  for (const name of EVENT_NAMES) app.superai.on(name, () => { seen.push(name) })
  app.superai.onBatchCompleted((event, context) => {
    contexts.push(context)
    t.equal(event.state, 'COMPLETED')
    t.equal(event.entityType, 'batch')
  })
  const body = batchBody({ jobCount: 12 })
  const events: Array<SuperaiEvent<'entity'>> = []
  app.superai.onEntity((event) => { events.push(event) })
  t.same((await post(body)).json(), { ok: true, duplicate: false })
  t.same(seen.sort(), ['batch.completed', 'entity'])
  t.same(events[0], body, 'the body as sent, extra properties kept')
  t.equal(contexts[0]?.key, prefix + batchIdempotencyKey(events[0] as SuperaiEvent<'entity'>), 'one key per (entityType, entityId, state)')
  t.equal(contexts[0]?.source, 'http')
  t.same((await post({ ...body, jobCount: 13, sentAt: 'later' })).json(), { ok: true, duplicate: true }, 'same batch and state: a duplicate')
  t.equal(seen.length, 2)
  t.same((await post({ ...body, state: 'PARTIAL_FAILURE' })).json(), { ok: true, duplicate: false }, 'another state of the batch is another callback')
  t.same(seen.slice(2).sort(), ['batch.partialFailure', 'entity'])
  const redis = testRedis()
  t.equal((await keysUnder(redis, prefix)).length, 2, 'one processed mark per (batch, state)')
  await redis.quit()
  t.match(app.superai.stats(), { received: 3, processed: 2, duplicate: 1, rejected: 0 })
})

test('each documented batch state reaches its own event; spellings are normalised to super.AI\'s', async (t) => {
  const { app, post } = await buildApp(t)
  const seen: string[] = []
  for (const name of EVENT_NAMES) app.superai.on(name, (event) => { seen.push(`${name}:${event.state}`) })
  for (const state of BATCH_STATES) {
    seen.length = 0
    t.equal((await post(batchBody({ state }))).statusCode, 200)
    const expected = `batch.${state.toLowerCase().replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}`
    t.same(seen.sort(), [`${expected}:${state}`, `entity:${state}`].sort(), `${state} -> ${expected}`)
  }
  seen.length = 0
  t.equal((await post(batchBody({ state: 'partial failure', entityType: 'Batch' }))).statusCode, 200)
  t.same(seen.sort(), ['batch.partialFailure:PARTIAL_FAILURE', 'entity:PARTIAL_FAILURE'])
})

test('job callbacks never reach entity handlers', async (t) => {
  const { app, post } = await buildApp(t)
  let entity = 0
  let callback = 0
  app.superai.onEntity(() => { entity++ })
  app.superai.onCallback(() => { callback++ })
  t.equal((await post(callbackBody())).statusCode, 200)
  t.equal((await post(callbackBody({ state: 'ARCHIVED', version: '1' }))).statusCode, 200, 'an unknown job state, a version other than "2"')
  t.equal(callback, 2)
  t.equal(entity, 0)
})

test('an undocumented entityType or batch state reaches only entity, with one warn line', async (t) => {
  const { app, post, logs } = await buildApp(t)
  const seen: string[] = []
  for (const name of EVENT_NAMES) app.superai.on(name, (event) => { seen.push(`${name}:${String(event.state)}`) })
  const project = batchBody({ entityType: 'project', state: 'ARCHIVED' })
  t.same((await post(project)).json(), { ok: true, duplicate: false })
  t.same(seen, ['entity:ARCHIVED'])
  t.match(warnLines(logs), [{ field: 'entityType', value: 'project', entityId: project.entityId }])
  seen.length = 0
  t.same((await post(batchBody({ state: 'CANCELED' }))).json(), { ok: true, duplicate: false })
  t.same(seen, ['entity:CANCELED'])
  t.equal(warnLines(logs).length, 2)
  t.match(warnLines(logs)[1], { field: 'state', value: 'CANCELED' })
  t.same((await post(project)).json(), { ok: true, duplicate: true }, 'deduplicated like any other')
})

test('unknownValues: "reject" answers 400 to an undocumented entityType or batch state', async (t) => {
  const { app, post, logs } = await buildApp(t, { unknownValues: 'reject' })
  let runs = 0
  app.superai.onEntity(() => { runs++ })
  for (const body of [batchBody({ entityType: 'project' }), batchBody({ state: 'CANCELED' })]) {
    const reply = await post(body)
    t.equal(reply.statusCode, 400)
    t.equal(reply.json().code, 'FST_SUPERAI_UNKNOWN_VALUE')
  }
  t.equal(warnLines(logs).length, 2, 'one warn line per refusal')
  t.equal(runs, 0)
  t.equal((await post(batchBody())).statusCode, 200)
})

test('a v2 body is validated as a v2 callback: never 400 for lacking a uuid, 400 naming its own fields', async (t) => {
  const { app, post, logs } = await buildApp(t)
  let runs = 0
  app.superai.onEntity(() => { runs++ })
  app.superai.onCallback(() => { runs++ })
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no entityId', batchBody({ entityId: undefined }), /entityId/],
    ['empty entityType', batchBody({ entityType: '' }), /entityType/],
    ['state a number', batchBody({ state: 7 }), /state/],
    ['over-long entityId', batchBody({ entityId: 'x'.repeat(129) }), /entityId/],
    ['appId empty', batchBody({ appId: '' }), /appId/]
  ]
  for (const [name, body, field] of cases) {
    const reply = await post(body)
    t.equal(reply.statusCode, 400, name)
    t.equal(reply.json().code, 'FST_SUPERAI_INVALID_BODY')
    t.match(reply.json().message, field, `${name}: names the field`)
    t.notMatch(reply.json().message, /uuid/, `${name}: says nothing of a uuid`)
  }
  t.equal(warnLines(logs).length, cases.length)
  t.equal((await post(batchBody({ appId: undefined }))).statusCode, 200, 'appId is optional')
  t.equal(runs, 1)
})
