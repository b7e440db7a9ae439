import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { createSuperaiWorker } from '../../src/index.js'
import type { CrashWorkerMessage } from '../fixtures/crash-worker.js'
import { buildApp } from '../helpers/app.js'
import { REDIS_URL, callbackBody } from '../helpers/callbacks.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'
import { childEnv } from '../helpers/child-env.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/crash-worker.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LEASE = 2

test('a worker process killed mid-handler (kill -9): its job is taken over after the lease and runs once more', async (t) => {
  const queue = uniqueQueue({ concurrency: 0 })
  removeQueueAtTeardown(t, queue)
  const { post, prefix } = await buildApp(t, { queue, lease: LEASE })
  const child = fork(FIXTURE, [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: childEnv({ CRASH_REDIS_URL: REDIS_URL, CRASH_KEY_PREFIX: prefix, CRASH_LEASE: String(LEASE), CRASH_QUEUE: JSON.stringify({ ...queue, concurrency: 1 }) }),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  const exited = once(child, 'exit')
  t.teardown(() => { child.kill('SIGKILL') })
  const started = new Promise<CrashWorkerMessage>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('the crash worker never started the handler')) }, 20_000)
    child.once('message', (message: CrashWorkerMessage) => { clearTimeout(timer); resolve(message) })
  })

  const body = callbackBody()
  t.equal((await post(body)).statusCode, 202)
  t.equal((await started).uuid, body.uuid, 'the handler is running in the child')
  child.kill('SIGKILL')
  await exited

  const worker = await createSuperaiWorker({ redis: REDIS_URL, keyPrefix: prefix, lease: LEASE, queue: { ...queue, concurrency: 1 } })
  t.teardown(async () => { await worker.close() })
  const runs: number[] = []
  worker.on('callback', (_event, context) => { if (context.source === 'queue') runs.push(context.attempt) })
  const killedAt = Date.now()
  worker.start()
  t.ok(await waitFor(() => runs.length === 1, 15_000), 'taken over')
  t.comment(`taken over ${Date.now() - killedAt} ms after the kill (lease ${LEASE} s)`)
  t.equal((await post(body)).statusCode, 200, 'a redelivery meanwhile is a duplicate')
  t.equal(runs.length, 1)
})
