/**
 * `npm run bench:announce`: what `waitFor`'s publication costs the synchronous path when nobody waits. A
 * state change's claim and completion through `RedisStore` as the plugin sends them (`claimAndRead`, then
 * `completeAndMark`, 50 at a time with the plugin's write batching, so that a turn's operations share one
 * script call as under load), with the completion's announcement (the PUBLISH on the job's channel) and
 * without it, on a redis-server of its own (started on a free port and killed at the end, so that its
 * counters are this run's alone). The two differ by the PUBLISH alone; the rounds alternate them.
 *
 *   npm run bench:announce [-- --pairs=40000 --rounds=5]
 *
 * Medians of the rounds: Redis CPU per claim+completion (`INFO cpu`, user + sys, the whole server) and the
 * client's CPU (`process.cpuUsage()`), and the pairs per second of the client.
 */
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { RedisStore } from '../src/store/redis.js'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { redisCpu } from './lib/redis.js'

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '40000' }, rounds: { type: 'string', default: '5' } } })
const PAIRS = Number(values.pairs)
const ROUNDS = Number(values.rounds)
const CONCURRENCY = 50

const teardowns: Array<() => Promise<void>> = []
const server = await startRedisServer((fn) => { teardowns.push(fn) })
const client = new Redis(server.url)
const store = await RedisStore.create(client)

const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? NaN

/** One state change of a new job (default key): the claim reads the 4 later states' keys, the completion records its own. */
const pair = (announce: boolean) => async (i: number, round: number): Promise<void> => {
  const tag = `s:${round}:{${i}}`
  await store.claimAndRead(`${tag}C`, 't', 60_000, { stateKeys: ['R', 'P', 'D', 'N'].map((letter) => tag + letter), stateBits: [32, 64, 128, 256] })
  await store.completeAndMark(`${tag}C`, 't', 60_000, announce
    ? { stateKey: `${tag}C`, announce: { channel: `p:processed:${round}:${i}`, state: 'COMPLETED' } }
    : { stateKey: `${tag}C` })
}
const contenders = {
  'completion announced (PUBLISH, nobody subscribed)': pair(true),
  'completion not announced': pair(false)
}

const results = new Map<string, { redisCpu: number[], clientCpu: number[], rate: number[] }>()
for (let round = 0; round < ROUNDS; round++) {
  // alternate which goes first, so that neither always runs on a warmer server
  const order = round % 2 === 0 ? Object.entries(contenders) : Object.entries(contenders).reverse()
  for (const [name, run] of order) {
    await run(-1, round) // the scripts cached first
    const before = await redisCpu(client)
    const clientBefore = process.cpuUsage()
    const started = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (next < PAIRS) await run(next++, round) }))
    const elapsed = performance.now() - started
    const clientUsed = process.cpuUsage(clientBefore)
    const after = await redisCpu(client)
    const entry = results.get(name) ?? { redisCpu: [], clientCpu: [], rate: [] }
    entry.redisCpu.push((after - before) / PAIRS)
    entry.clientCpu.push((clientUsed.user + clientUsed.system) / PAIRS)
    entry.rate.push(PAIRS / elapsed * 1000)
    results.set(name, entry)
    await client.flushdb() // this run's own server
  }
}
console.log(`${PAIRS} claim+completion pairs of a state change, ${CONCURRENCY} at a time, median of ${ROUNDS} rounds`)
console.log('| completion | Redis CPU µs/pair | client CPU µs/pair | pairs/s |\n| --- | ---: | ---: | ---: |')
for (const [name, { redisCpu, clientCpu, rate }] of results) {
  console.log(`| ${name} | ${median(redisCpu).toFixed(2)} | ${median(clientCpu).toFixed(2)} | ${Math.round(median(rate))} |`)
}
client.disconnect()
for (const teardown of teardowns) await teardown()
