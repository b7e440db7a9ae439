import { test } from 'tap'
import { buildApp } from '../helpers/app.js'
import { REDIS_URL, callbackBody } from '../helpers/callbacks.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'
import { runCliHere as runCli } from '../helpers/cli.js'
import { jsonOf } from '../helpers/receiver.js'

test('a handler failing twice then succeeding is retried with backoff: attempts 1, 2, 3', async (t) => {
  const queue = uniqueQueue({ attempts: 5 })
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue })
  const attempts: number[] = []
  app.superai.on('callback', async (_event, context) => {
    if (context.source === 'queue') attempts.push(context.attempt)
    if (attempts.length < 3) throw new Error(`failure ${attempts.length}`)
  })
  await app.ready()
  t.equal((await post(callbackBody())).statusCode, 202)
  t.ok(await waitFor(() => app.superai.stats().processed === 1), 'processed on the third try')
  t.same(attempts, [1, 2, 3])
  t.match(app.superai.stats(), { queued: 1, failed: 2, processed: 1, deadLettered: 0 })
})

test('a handler always failing becomes a dead letter: listed with its key, redelivery is a duplicate, replay runs it again', async (t) => {
  const queue = uniqueQueue({ attempts: 2 })
  removeQueueAtTeardown(t, queue)
  const { app, post, prefix } = await buildApp(t, { queue })
  let failing = true
  const attempts: number[] = []
  app.superai.on('callback', async (_event, context) => {
    if (context.source === 'queue') attempts.push(context.attempt)
    if (failing) throw new Error('the database is down')
  })
  await app.ready()
  const body = callbackBody()
  t.equal((await post(body)).statusCode, 202)
  t.ok(await waitFor(() => app.superai.stats().deadLettered === 1), 'dead-lettered after 2 tries')
  const deadLetters = app.superai.deadLetters
  if (deadLetters === undefined) throw new Error('no deadLetters in queue mode')
  const [letter, ...others] = await deadLetters.list()
  t.equal(others.length, 0)
  t.match(letter, { event: { uuid: body.uuid, state: 'COMPLETED' }, attempts: 2, reason: /the database is down/ })
  t.match(letter?.key, new RegExp(`^${prefix}`), 'the key, decoded from the job id')
  t.ok(letter?.failedAt instanceof Date)

  const again = await post(body)
  t.equal(again.statusCode, 200, 'a redelivery of a dead letter is not a 409')
  t.same(again.json(), { ok: true, duplicate: true })

  failing = false
  const result = await deadLetters.replay()
  t.same(result, { replayed: [letter?.key], missing: [] })
  t.ok(await waitFor(() => app.superai.stats().processed === 1), 'the replayed callback ran')
  t.same(attempts, [1, 2, 1], 'attempts start again')
  t.same(await deadLetters.list(), [])
  t.same(await deadLetters.replay(['no-such-key']), { replayed: [], missing: ['no-such-key'] })
  t.match(app.superai.stats(), { deadLettered: 1, replayed: 1, processed: 1 })
})

test('the CLI lists and replays dead letters', async (t) => {
  const queue = uniqueQueue({ attempts: 1 })
  removeQueueAtTeardown(t, queue)
  const { app, post } = await buildApp(t, { queue })
  let failing = true
  app.superai.on('callback', async () => { if (failing) throw new Error('boom') })
  await app.ready()
  const body = callbackBody()
  await post(body)
  t.ok(await waitFor(() => app.superai.stats().deadLettered === 1))
  const common = ['--redis', REDIS_URL, '--queue', queue.name, '--prefix', queue.prefix]

  const list = await runCli(['dead-letters', 'list', ...common, '--json'])
  t.equal(list.code, 0, list.stderr)
  const listed = jsonOf<{ count: number, deadLetters: Array<{ key: string, event: { uuid: string }, reason: string }> }>(list)
  t.equal(listed.count, 1)
  t.equal(listed.deadLetters[0]?.event.uuid, body.uuid)
  const key = listed.deadLetters[0]?.key ?? ''

  const text = await runCli(['dead-letters', 'list', ...common])
  t.match(text.stdout, key)
  t.match(text.stdout, /boom/)

  const missing = await runCli(['dead-letters', 'replay', ...common, 'not-a-dead-letter'])
  t.equal(missing.code, 1)

  failing = false
  const replay = await runCli(['dead-letters', 'replay', ...common, key, '--json'])
  t.equal(replay.code, 0, replay.stderr)
  t.same(jsonOf(replay), { ok: true, command: 'dead-letters', action: 'replay', replayed: [key], missing: [] })
  t.ok(await waitFor(() => app.superai.stats().processed === 1))

  t.equal((await runCli(['dead-letters', 'list'])).code, 2, 'no --redis: usage error')
  t.equal((await runCli(['dead-letters', 'drop', ...common])).code, 2)
  const unreachable = await runCli(['dead-letters', 'list', '--redis', 'redis://127.0.0.1:1'])
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /could not connect/)
})
