import { test } from 'tap'
import { fork, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import superaiCallbacks from '../../src/index.js'
import type { CrashServerMessage } from '../fixtures/crash-server.js'
import { REDIS_URL, cleanUpAtTeardown } from '../helpers/callbacks.js'
import { code, codeOf, listenLocal, postCallback, type HttpReply } from '../helpers/http.js'
import { childEnv } from '../helpers/child-env.js'

/** A process killed mid-handler leaves its claim behind; after the lease, another process runs the callback. */

const FIXTURE = fileURLToPath(new URL('../fixtures/crash-server.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The first IPC message from `child` that `accept` takes, or a rejection after `timeoutMs` or if the child exits. */
async function nextMessage<M extends CrashServerMessage['type']> (
  child: ChildProcess, type: M, timeoutMs: number
): Promise<Extract<CrashServerMessage, { type: M }>> {
  return await new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const onMessage = (message: CrashServerMessage): void => {
      if (message.type !== type) return
      cleanup()
      resolve(message as Extract<CrashServerMessage, { type: M }>)
    }
    const onExit = (exitCode: number | null, signal: string | null): void => {
      cleanup()
      reject(new Error(`crash-server exited (${exitCode ?? signal}) before "${type}"`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no "${type}" from crash-server within ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

const isAccepted = (reply: HttpReply, duplicate: boolean): boolean =>
  reply.status === 200 && JSON.stringify(reply.json) === JSON.stringify({ ok: true, duplicate })

test('a process killed mid-handler is taken over after its lease', async (t) => {
  const keyPrefix = `test:crash:${process.pid}:${randomUUID()}:`
  const lease = 2
  cleanUpAtTeardown(t, keyPrefix)

  const child = fork(FIXTURE, [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: childEnv({ CRASH_REDIS_URL: REDIS_URL, CRASH_KEY_PREFIX: keyPrefix, CRASH_LEASE: String(lease) }),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })

  const { url: childUrl } = await nextMessage(child, 'listening', 20_000)
  t.match(childUrl, /^http:\/\/127\.0\.0\.1:\d+\/superai\/callbacks\/$/, 'the child listens on 127.0.0.1')

  const body = { id: '42', uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED' }
  // the instance that takes over is ready before the crash, so that a loaded machine cannot spend the lease
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix, lease })
  let calls = 0
  app.superai.on('callback', (event) => {
    if (event.uuid === body.uuid) calls++
  })
  const url = await listenLocal(app)

  const started = nextMessage(child, 'started', 10_000)
  // never answered: the child dies while its handler hangs
  const abandoned = postCallback(childUrl, body, { timeoutMs: 15_000 }).then(
    () => 'answered', () => 'failed')
  const { uuid } = await started
  const startedAt = Date.now()
  t.equal(uuid, body.uuid, 'the child\'s handler started on our callback')

  child.kill('SIGKILL')
  const [, signal] = await exited as [number | null, string | null]
  t.equal(signal, 'SIGKILL', 'the child was killed mid-handler')
  t.equal(await abandoned, 'failed', 'its delivery was never answered')

  const blocked = await postCallback(url, body)
  t.ok(Date.now() - startedAt < lease * 1000, 'asked while the dead lease was still alive')
  t.equal(blocked.status, 409, 'the dead process\' claim is still in flight')
  t.equal(codeOf(blocked), code('FST_SUPERAI_IN_FLIGHT'))
  const retryAfter = Number(blocked.headers.get('retry-after'))
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= lease, `Retry-After within the lease (${retryAfter})`)
  t.equal(calls, 0, 'no handler ran')

  // retry as super.AI would, bounded: the claim must be taken over once the lease is over
  const deadline = Date.now() + (lease + 5) * 1000
  let reply = blocked
  while (reply.status === 409 && Date.now() < deadline) {
    await sleep(200)
    reply = await postCallback(url, body)
  }
  const tookOverAfter = reply.at - startedAt
  t.ok(isAccepted(reply, false), `taken over and processed (duplicate:false) after ${tookOverAfter} ms`)
  t.ok(tookOverAfter >= lease * 1000 - 300, 'not before the lease ran out')
  t.equal(calls, 1, 'the handler ran exactly once')

  t.ok(isAccepted(await postCallback(url, body), true), 'then it is a duplicate')
  t.equal(calls, 1)
})
