import { test } from 'tap'
import { buildApp, warnLines } from '../helpers/app.js'
import { callbackBody } from '../helpers/callbacks.js'
import { API_KEY, startFakeSuperai } from '../helpers/fake-superai.js'

const SECRET = 'a-secret-token-0123456789'
/** A value that must never reach a log: it travels only in refused bodies. */
const MARKER = 'private-body-content-7f3a'

test('every refusal is exactly one warn line with its code and reason, never the token, the API key or the body', async (t) => {
  const api = await startFakeSuperai(t)
  const { app, post, logs } = await buildApp(t, {
    secret: SECRET, secretIn: 'header', unknownValues: 'reject', bodyLimit: 2048, verify: { apiKey: API_KEY, baseUrl: api.baseUrl }
  })
  let runs = 0
  app.superai.onCallback(() => { runs++ })
  app.superai.onEntity(() => { runs++ })
  const auth = { 'x-superai-token': SECRET }
  const failedJob = callbackBody({ note: MARKER })
  api.putJob({ uuid: failedJob.uuid, status: 'FAILED' })
  const cases: Array<[name: string, body: unknown, status: number, code: string, headers?: Record<string, string>]> = [
    ['malformed JSON', `{"note": "${MARKER}", `, 400, 'FST_SUPERAI_INVALID_JSON'],
    ['not an object', `"${MARKER}"`, 400, 'FST_SUPERAI_INVALID_BODY'],
    ['missing uuid', { id: '1', state: 'COMPLETED', action: 'RESOLVED', note: MARKER }, 400, 'FST_SUPERAI_INVALID_BODY'],
    ['v2 without entityId', { version: '2', entityType: 'batch', state: 'COMPLETED', note: MARKER }, 400, 'FST_SUPERAI_INVALID_BODY'],
    ['undocumented action', callbackBody({ action: 'COMMENTED', note: MARKER }), 400, 'FST_SUPERAI_UNKNOWN_VALUE'],
    ['undocumented entity type', { version: '2', entityType: 'project', entityId: 'p-1', state: 'DONE', note: MARKER }, 400, 'FST_SUPERAI_UNKNOWN_VALUE'],
    ['a state the job can no longer reach', failedJob, 422, 'FST_SUPERAI_VERIFICATION_FAILED'],
    ['too large', callbackBody({ note: MARKER.repeat(200) }), 413, 'FST_SUPERAI_BODY_TOO_LARGE'],
    ['JSON with a stray word', `{"note": ${MARKER}}`, 400, 'FST_SUPERAI_INVALID_JSON'],
    ['not JSON', MARKER, 415, 'FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE', { ...auth, 'content-type': 'text/plain' }],
    ['no token', callbackBody(), 401, 'FST_SUPERAI_UNAUTHORIZED', {}],
    ['wrong token', callbackBody(), 401, 'FST_SUPERAI_UNAUTHORIZED', { 'x-superai-token': `${SECRET}-not` }]
  ]
  for (const [name, body, status, code, headers] of cases) {
    const before = warnLines(logs).length
    const reply = await post(body, headers ?? auth)
    t.equal(reply.statusCode, status, `${name}: ${status}`)
    t.equal(reply.json().code, code, `${name}: ${code}`)
    const added = warnLines(logs).slice(before)
    t.equal(added.length, 1, `${name}: one warn line`)
    if (status === 400 || status === 422) {
      t.match(added[0], { code, statusCode: status, reason: reply.json().message }, `${name}: the code and the reason`)
    }
  }
  const text = JSON.stringify(logs)
  t.notMatch(text, SECRET, 'the token is never logged')
  t.notMatch(text, API_KEY, 'the API key is never logged')
  t.notMatch(text, MARKER, 'no refused body is logged')
  t.notMatch(text, 'private-', 'not even the excerpt a JSON parse error quotes')
  t.equal(runs, 0)
  t.equal(app.superai.stats().rejected, cases.length, 'each counted as rejected')
})
