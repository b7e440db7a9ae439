/**
 * `npm run bench:traffic`: Redis commands and round trips per callback, and (with --strace) system calls
 * per callback, for the plugin in each mode and for its references. Each contender is the benchmark's own
 * server (bench/servers/), pointed at a private redis-server this script starts on a free port (so that
 * `INFO commandstats` and `INFO stats` count this contender's traffic alone, never the shared Redis'), and
 * loaded with a fixed number of unique callbacks at 1 connection (every round trip in sequence) and at 50
 * (what batching gathers under load). The drain contenders are workers emptying a queue filled beforehand.
 *
 *   npm run bench:traffic                      every contender, 1 and 50 connections
 *   npm run bench:traffic -- --strace          also `strace -c -f -p <server>` around the 50-connection load
 *   options: --only=plugin-redis,handwritten  --requests=5000
 *
 * Commands per callback: every command Redis ran (those of a Lua script included, then also counted under
 * evalsha), from `INFO commandstats`; round trips: `total_reads_processed` from `INFO stats`, the reads
 * Redis made on client sockets (one per batch of commands a client wrote, at least one per round trip).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { CALLBACK_PATH } from './lib/load.js'
import { fetchStats, startServer, stopServer } from './lib/servers.js'
import { uniqueBody } from './lib/workloads.js'
import { fillQueue, type DrainContender } from './lib/drain.js'

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    requests: { type: 'string', default: '5000' },
    strace: { type: 'boolean', default: false }
  }
})
const REQUESTS = Number(args.requests)

interface Receiver { readonly name: string, readonly server?: string, readonly env?: Record<string, string> }
const RECEIVERS: readonly Receiver[] = [
  { name: 'plugin-redis' },
  { name: 'handwritten' },
  { name: 'plugin-queue' },
  { name: 'bullmq-receive' },
]
const DRAINERS: readonly DrainContender[] = [
  { name: 'plugin-worker', code: 'plugw', label: 'plugin worker', plugin: true },
  { name: 'bullmq-worker', code: 'bullw', label: 'bare BullMQ Worker', plugin: false },
  { name: 'bullmq-worker-plugin-jobs', code: 'bullp', label: 'bare BullMQ Worker over the plugin\'s jobs', plugin: true },
]
const only = args.only?.split(',')
const chosen = <T extends { name: string }>(list: readonly T[]): T[] => list.filter((c) => only === undefined || only.includes(c.name))

const teardowns: Array<() => Promise<void>> = []
const redisServer = await startRedisServer((fn) => { teardowns.push(fn) })
const redis = new Redis(redisServer.url)

async function info (): Promise<{ commands: Map<string, number>, reads: number, writes: number }> {
  const stats = await redis.info('commandstats') + await redis.info('stats')
  const commands = new Map<string, number>()
  for (const [, name, calls] of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands.set(name ?? '', Number(calls))
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(stats)?.[1] ?? 0)
  return { commands, reads: field('total_reads_processed'), writes: field('total_writes_processed') }
}

/** What the measured window added, per callback; this script's own INFO calls left out. */
function perCallback (before: Awaited<ReturnType<typeof info>>, after: Awaited<ReturnType<typeof info>>, n: number): { commands: number, byCommand: string, roundTrips: number } {
  const diffs: Array<[string, number]> = []
  let total = 0
  for (const [name, calls] of after.commands) {
    if (name === 'info') continue
    const d = calls - (before.commands.get(name) ?? 0)
    if (d <= 0) continue
    diffs.push([name, d / n])
    // a script's own commands are counted apart: the script call itself is one command on the wire
    total += d
  }
  diffs.sort((a, b) => b[1] - a[1])
  // INFO's own reads: two per snapshot
  return { commands: total / n, byCommand: diffs.map(([name, d]) => `${name} ${d.toFixed(2)}`).join(', '), roundTrips: (after.reads - before.reads - 2) / n }
}

async function load (port: number, connections: number, amount: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      amount,
      requests: [{ method: 'POST', path: CALLBACK_PATH, headers: { 'content-type': 'application/json' }, setupRequest: (r) => ({ ...r, body: uniqueBody() }) }]
    }, (err) => { if (err === null || err === undefined) resolve(); else reject(err instanceof Error ? err : new Error(String(err))) })
  })
}

/** `strace -c -f -p pid` while `work` runs: the syscall counts, from its summary table. */
async function straced (pid: number, work: () => Promise<void>): Promise<Map<string, number>> {
  const file = `${tmpdir()}/strace-${pid}-${Date.now()}.txt`
  const strace = spawn('strace', ['-c', '-f', '-p', String(pid), '-o', file], { stdio: 'ignore' })
  await new Promise((resolve) => setTimeout(resolve, 500))
  await work()
  strace.kill('SIGINT')
  await once(strace, 'exit')
  const text = await readFile(file, 'utf8')
  await rm(file, { force: true })
  const counts = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line)
    if (m !== null && m[2] !== 'total') counts.set(m[2] ?? '', Number(m[1]))
  }
  return counts
}

const syscallLine = (counts: Map<string, number>, n: number): string => {
  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, c]) => `${name} ${(c / n).toFixed(2)}`).join(', ')
  return `${(total / n).toFixed(2)} syscalls per callback (${top})`
}

const lines: string[] = []
const say = (line: string): void => { lines.push(line); process.stdout.write(`${line}\n`) }
try {
  for (const c of chosen(RECEIVERS)) {
    const prefix = `sb:traffic:${c.name.slice(0, 5)}:`
    const server = await startServer(c.server ?? c.name, { env: { BENCH_PREFIX: prefix, BENCH_REDIS_URL: redisServer.url, BENCH_QUEUE: 'bench', ...c.env } })
    try {
      await load(server.port, 50, 2000) // warm-up: JIT, scripts loaded, connections open
      for (const connections of [1, 50]) {
        const n = connections === 1 ? Math.min(REQUESTS, 2000) : REQUESTS
        const before = await info()
        const stats = await fetchStats(server.port)
        let syscalls: Map<string, number> | undefined
        if (args.strace && connections === 50) syscalls = await straced(server.child.pid ?? 0, async () => { await load(server.port, connections, n) })
        else await load(server.port, connections, n)
        const after = await info()
        const cpu = (await fetchStats(server.port)).cpuMicros - stats.cpuMicros
        const r = perCallback(before, after, n)
        say(`${c.name.padEnd(15)} ${String(connections).padStart(2)} conn: ${r.commands.toFixed(2)} commands per callback (${r.byCommand}); ${r.roundTrips.toFixed(2)} client reads by Redis per callback; server CPU ${(cpu / n).toFixed(0)} µs` +
          (syscalls === undefined ? '' : `; ${syscallLine(syscalls, n)}`))
      }
    } finally {
      await stopServer(server)
    }
  }
  for (const c of chosen(DRAINERS)) {
    const prefix = `sb:traffic:${c.code}:`
    const server = await startServer(c.server ?? c.name, { env: { BENCH_PREFIX: prefix, BENCH_REDIS_URL: redisServer.url, BENCH_QUEUE: 'bench', BENCH_CONCURRENCY: '50' } })
    const queue = new Queue('bench', { connection: redis, prefix: `${prefix}bull` })
    try {
      const drain = async (n: number, strace: boolean): Promise<Map<string, number> | undefined> => {
        await queue.pause()
        await fillQueue(queue, c, prefix, n)
        const target = (await fetchStats(server.port)).handled + n
        const wait = async (): Promise<void> => {
          const waiting = fetch(`http://127.0.0.1:${server.port}/__bench/wait?handled=${target}&timeoutMs=120000`)
          await new Promise((resolve) => setTimeout(resolve, 20))
          await queue.resume()
          await waiting
        }
        if (!strace) { await wait(); return undefined }
        return await straced(server.child.pid ?? 0, wait)
      }
      await drain(2000, false)
      await queue.pause()
      const n = REQUESTS
      await fillQueue(queue, c, prefix, n)
      const before = await info()
      const stats = await fetchStats(server.port)
      const waiting = fetch(`http://127.0.0.1:${server.port}/__bench/wait?handled=${stats.handled + n}&timeoutMs=120000`)
      await new Promise((resolve) => setTimeout(resolve, 20))
      await queue.resume()
      await waiting
      const after = await info()
      const cpu = (await fetchStats(server.port)).cpuMicros - stats.cpuMicros
      const r = perCallback(before, after, n)
      let line = `${c.name.padEnd(15)} 50 jobs at once: ${r.commands.toFixed(2)} commands per job (${r.byCommand}); ${r.roundTrips.toFixed(2)} client reads by Redis per job; worker CPU ${(cpu / n).toFixed(0)} µs`
      if (args.strace) {
        const syscalls = await drain(n, true)
        if (syscalls !== undefined) line += `; ${syscallLine(syscalls, n)}`
      }
      say(line)
    } finally {
      await stopServer(server)
      await queue.close()
    }
  }
} finally {
  redis.disconnect()
  for (const teardown of teardowns) await teardown()
}
