/** Queue mode's public types, with bullmq installed (it is a devDependency here): BullMQ's own `Queue`. */
import type { Queue } from 'bullmq'
import Fastify from 'fastify'
import superaiCallbacks, { type CallbackJobData, type SuperaiQueue } from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

assertType<Equal<SuperaiQueue, Queue<CallbackJobData>>>()

export async function queueFixture (): Promise<void> {
  const app = Fastify()
  await app.register(superaiCallbacks, { redis: 'redis://127.0.0.1:6379', queue: true })
  assertType<Equal<typeof app.superai.queue, Queue<CallbackJobData> | undefined>>()
  // @ts-expect-error -- undefined in synchronous mode: checked before use
  await app.superai.queue.close()
  await app.superai.queue?.close()
}
