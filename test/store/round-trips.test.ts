import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { test } from 'tap'
import superaiCallbacks from '../../src/index.js'
import { REDIS_URL, callbackBody, deleteUnder, uniquePrefix } from '../helpers/callbacks.js'
import { logCommands, roundTrips } from '../helpers/command-log.js'

/**
 * Remembering a job's states costs the synchronous path no round trip: the marks are read by the claim
 * and written by the completion, in the same command each, counted on the client the plugin uses.
 */
test('a state change costs the commands and round trips of any callback: one claim, one completion', async (t) => {
  const client = new Redis(REDIS_URL)
  const keyPrefix = uniquePrefix('round-trips')
  t.teardown(async () => {
    await deleteUnder(client, keyPrefix)
    await client.quit()
  })
  // connected before the plugin asks the server's version: the native claim (Redis >= 7) where it can
  await client.ping()
  for (const superseded of ['dispatch', 'skip'] as const) {
    const app = Fastify()
    t.teardown(async () => { await app.close() })
    await app.register(superaiCallbacks, { redis: client, keyPrefix: `${keyPrefix}${superseded}:`, superseded, ttl: 600 })
    app.superai.on('callback', () => {})
    const post = async (body: Record<string, unknown>): Promise<unknown> =>
      (await app.inject({ method: 'POST', url: '/superai/callbacks/', payload: body })).json()
    // the scripts cached on the server first, so that no NOSCRIPT retry is counted
    await post(callbackBody())
    await post(callbackBody({ action: 'EDITED' }))
    const log = logCommands(client)
    const measure = async (body: Record<string, unknown>): Promise<{ sent: string[], trips: number, reply: unknown }> => {
      log.length = 0
      const reply = await post(body)
      return { sent: log.filter((entry) => entry.startsWith('send ')), trips: roundTrips(log), reply }
    }

    const edit = await measure(callbackBody({ action: 'EDITED' }))
    t.same(edit.sent, ['send set', 'send evalsha'], `${superseded}: another action: the native claim, the completion script`)
    t.equal(edit.trips, 2)

    const uuid = randomUUID()
    const stateChange = await measure(callbackBody({ uuid, state: 'POST PROCESSING' }))
    t.same(stateChange.sent, ['send evalsha', 'send evalsha'], `${superseded}: a state change: the claim script reads the marks, the completion writes them`)
    t.equal(stateChange.trips, 2, 'as many round trips as another action')
    t.same(stateChange.reply, { ok: true, duplicate: false })

    const late = await measure(callbackBody({ uuid, state: 'COMPLETED' }))
    t.same(late.sent, ['send evalsha', 'send evalsha'], `${superseded}: a superseded one too`)
    t.equal(late.trips, 2)
    t.same(late.reply, superseded === 'skip' ? { ok: true, duplicate: false, superseded: true } : { ok: true, duplicate: false })

    const end = await measure(callbackBody({ uuid, state: 'POST PROCESSED' }))
    t.same(end.sent, ['send set', 'send evalsha'], `${superseded}: a state that ends the job can never be superseded: the native claim`)
    t.equal(end.trips, 2)

    const duplicate = await measure(callbackBody({ uuid, state: 'COMPLETED' }))
    t.same(duplicate.sent, ['send evalsha'], `${superseded}: a duplicate: the claim alone`)
  }
})
