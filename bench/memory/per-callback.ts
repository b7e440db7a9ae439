/**
 * Redis memory and keys per callback, as a user pays them: `used_memory` growth and DBSIZE growth on a
 * private redis-server (started on a free port, killed at the end) over callbacks of new jobs sent through
 * `app.inject` with the default options, per kind of callback and per mode, beside the hand-written
 * route's `SET uuid:state:action 1 NX EX ttl`. The server is emptied (FLUSHALL: it is this run's own)
 * before each row. In queue mode the in-process worker runs every job (its run claim counts); BullMQ's own
 * keys (the job hashes and lists, which `removeOnComplete` policies decide) are deleted before reading,
 * so the row is the plugin's keys alone. Beside the growth, the keys' own `MEMORY USAGE`: the growth adds
 * the slots of Redis' hash tables (keys and expiries), which grow by powers of two, so a queue-mode row,
 * whose BullMQ keys grew the tables meanwhile, carries more of them than its keys need.
 *
 *   npm run bench:memory [-- --callbacks=20000]
 */
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import superaiCallbacks from '../../src/index.js'
import { DEFAULTS } from '../../src/options.js'
import { startRedisServer } from '../../test/helpers/redis-server.js'
import { keysOwnBytes, usedMemory } from '../lib/redis.js'

const { values } = parseArgs({ options: { callbacks: { type: 'string', default: '20000' } } })
const CALLBACKS = Number(values.callbacks)
const AT_ONCE = 200

type Kind = 'state change' | 'another action' | 'batch (v2)'
const bodyOf = (kind: Kind): Record<string, unknown> => {
  const uuid = randomUUID()
  if (kind === 'batch (v2)') return { version: '2', entityType: 'batch', entityId: uuid, state: 'COMPLETED' }
  return { id: '1', uuid, state: 'COMPLETED', action: kind === 'state change' ? 'RESOLVED' : 'EDITED' }
}

const teardowns: Array<() => Promise<void>> = []
const server = await startRedisServer((fn) => { teardowns.push(fn) })
const redis = new Redis(server.url)

interface Row { readonly name: string, readonly bytes: number, readonly keys: number, readonly keyBytes: number }

/** Growth per callback while `send` writes CALLBACKS callbacks; `settle` runs before reading (a queue to drain). */
async function measure (name: string, send: (i: number) => Promise<unknown>, settle?: () => Promise<void>): Promise<Row> {
  await redis.flushall()
  const before = await usedMemory(redis)
  const keysBefore = await redis.dbsize()
  for (let i = 0; i < CALLBACKS; i += AT_ONCE) {
    await Promise.all(Array.from({ length: Math.min(AT_ONCE, CALLBACKS - i) }, async (_, j) => await send(i + j)))
  }
  await settle?.()
  const row = { name, bytes: (await usedMemory(redis) - before) / CALLBACKS, keys: (await redis.dbsize() - keysBefore) / CALLBACKS, keyBytes: await keysOwnBytes(redis) / CALLBACKS }
  console.log(`| ${row.name} | ${row.bytes.toFixed(0)} | ${row.keys.toFixed(2)} | ${row.keyBytes.toFixed(0)} |`)
  return row
}

async function pluginRow (kind: Kind, queue: boolean): Promise<Row> {
  const app = Fastify()
  await app.register(superaiCallbacks, { redis: server.url, ...(queue ? { queue: { prefix: 'bq', concurrency: 50 } } : {}) })
  let ran = 0
  let allRan: () => void = () => {}
  const done = new Promise<void>((resolve) => { allRan = resolve })
  const count = (): void => { if (++ran === CALLBACKS) allRan() }
  app.superai.on('callback', count)
  app.superai.on('entity', count)
  await app.ready()
  const drain = async (): Promise<void> => {
    await done
    await app.close()
    // BullMQ's own keys are the queue's, not the plugin's: only what the plugin wrote is left to count
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'bq:*', 'COUNT', 5000)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  }
  try {
    return await measure(`plugin, ${queue ? 'queue mode (receiver and worker)' : 'synchronous'}: ${kind}`, async () => {
      const reply = await app.inject({ method: 'POST', url: DEFAULTS.path, payload: bodyOf(kind) })
      if (reply.statusCode !== (queue ? 202 : 200)) throw new Error(`answered ${reply.statusCode}: ${reply.body}`)
    }, queue ? drain : async () => { await app.close() })
  } finally {
    await app.close()
  }
}

try {
  console.log(`${CALLBACKS} callbacks of new jobs per row, Redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]}\n`)
  console.log('| callbacks | used_memory growth, bytes per callback | keys per callback | MEMORY USAGE of the keys, bytes per callback |')
  console.log('| --- | ---: | ---: | ---: |')
  const rows: Row[] = []
  for (const queue of [false, true]) {
    for (const kind of ['state change', 'another action', 'batch (v2)'] as const) rows.push(await pluginRow(kind, queue))
  }
  rows.push(await measure('hand-written route: SET uuid:state:action 1 NX EX ttl', async () => {
    const { uuid, state, action } = bodyOf('state change') as { uuid: string, state: string, action: string }
    await redis.set(`${uuid}:${state}:${action}`, '1', 'EX', DEFAULTS.ttl, 'NX')
  }))
} finally {
  redis.disconnect()
  for (const teardown of teardowns) await teardown()
}
