/**
 * What remembering a job's states costs Redis and the client, on a redis-server of its own (started on a
 * free port and killed at the end, so its counters are this run's alone): a claim and a completion through
 * `RedisStore` as a callback of another action does them (the native `SET NX PX GET`, the completion
 * script), against a state change's (`claimAndRead`, `completeAndMark`: one script each, reading and
 * ORing the job's marks). 50 at a time, with the plugin's write batching, so that the operations of a
 * turn share one script call as under load (`src/store/op-batch.ts`).
 *
 *   npx tsx bench/superseded-redis-cost.ts [--pairs=40000 --rounds=5]
 *
 * Medians of the rounds: Redis CPU per claim+completion (`INFO cpu`, user + sys, the whole server: command
 * execution and network I/O) and the client's CPU (`process.cpuUsage()`), beside two designs not taken.
 */
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { RedisStore } from '../src/store/redis.js'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { redisCpu } from './lib/redis.js'

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '40000' }, rounds: { type: 'string', default: '5' } } })
const PAIRS = Number(values.pairs)
const ROUNDS = Number(values.rounds)
const CONCURRENCY = 50

// waits until the server answers, so the client connects on its first try
const teardowns: Array<() => Promise<void>> = []
const server = await startRedisServer((fn) => { teardowns.push(fn) })
const client = new Redis(server.url)
const store = await RedisStore.create(client)

const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? NaN

type Pair = (i: number, round: number) => Promise<unknown>
const contenders: Record<string, Pair> = {
  'another action (native claim, completion script)': async (i, round) => {
    await store.claim(`a:${round}:${i}`, 't', 60_000)
    await store.complete(`a:${round}:${i}`, 't', 60_000)
  },
  'a state change, default key (claimAndRead of the 4 later states\' keys, completeAndMark of its own)': async (i, round) => {
    const tag = `s:${round}:{${i}}`
    await store.claimAndRead(`${tag}C`, 't', 60_000, { stateKeys: ['R', 'P', 'D', 'N'].map((letter) => tag + letter), stateBits: [32, 64, 128, 256] })
    await store.completeAndMark(`${tag}C`, 't', 60_000, { stateKey: `${tag}C` })
  },
  'a state change, custom key (claimAndRead, completeAndMark of the per-job marks key)': async (i, round) => {
    await store.claimAndRead(`m:${round}:${i}`, 't', 60_000, { marksKey: `j:${round}:${i % 1000}`, stateKeys: [], stateBits: [] })
    await store.completeAndMark(`m:${round}:${i}`, 't', 60_000, { marksKey: `j:${round}:${i % 1000}`, mark: 1 << (i % 9) })
  },
  // two designs measured and not taken: fewer scripts, more commands
  'not taken: native claim and a GET together; completeAndMark': async (i, round) => {
    await Promise.all([client.set(`c:${round}:${i}`, 't', 'PX', 60_000, 'NX', 'GET'), client.get(`j:${round}:${i % 1000}`)])
    await store.completeAndMark(`c:${round}:${i}`, 't', 60_000, { marksKey: `j:${round}:${i % 1000}`, mark: 1 << (i % 9) })
  },
  'not taken: native claim and a GET together; the completion script, SETBIT and PEXPIRE together': async (i, round) => {
    await Promise.all([client.set(`f:${round}:${i}`, 't', 'PX', 60_000, 'NX', 'GET'), client.get(`j:${round}:${i % 1000}`)])
    await Promise.all([store.complete(`f:${round}:${i}`, 't', 60_000), client.setbit(`j:${round}:${i % 1000}`, 8 * ((i + 9) % 9) + 7, 1), client.pexpire(`j:${round}:${i % 1000}`, 60_000)])
  }
}

const results = new Map<string, { redisCpu: number[], clientCpu: number[] }>()
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, pair] of Object.entries(contenders)) {
    await pair(-1, round) // the scripts cached first
    const before = await redisCpu(client)
    const clientBefore = process.cpuUsage()
    let next = 0
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (next < PAIRS) await pair(next++, round) }))
    const clientUsed = process.cpuUsage(clientBefore)
    const after = await redisCpu(client)
    const entry = results.get(name) ?? { redisCpu: [], clientCpu: [] }
    entry.redisCpu.push((after - before) / PAIRS)
    entry.clientCpu.push((clientUsed.user + clientUsed.system) / PAIRS)
    results.set(name, entry)
    await client.flushdb() // this run's own server
  }
}
console.log(`${PAIRS} claim+completion pairs, ${CONCURRENCY} at a time, median of ${ROUNDS} rounds (µs per pair)`)
console.log('| path | Redis CPU | client CPU | both |\n| --- | ---: | ---: | ---: |')
for (const [name, { redisCpu, clientCpu }] of results) {
  console.log(`| ${name} | ${median(redisCpu).toFixed(1)} | ${median(clientCpu).toFixed(1)} | ${(median(redisCpu) + median(clientCpu)).toFixed(1)} |`)
}
client.disconnect()
for (const teardown of teardowns) await teardown()
