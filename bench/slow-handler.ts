/**
 * `npm run bench:queue`: the slow-handler workload of `npm run bench` alone (synchronous vs queue mode with
 * a handler that awaits 50 ms, open-loop load at a fixed rate); prints its table, writes nothing.
 *
 *   npm run bench:queue -- [--rate=300] [--seconds=5] [--rounds=3] [--warmup=1] [--concurrency=50] [--modes=sync,queue,queue-inprocess]
 */
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { SLOW_HANDLER_DEFAULTS, benchSlowHandler, renderSlowHandler, slowHandlerFailures, type SlowMode } from './lib/slow-handler.js'
import { killAllServers } from './lib/servers.js'

const { values } = parseArgs({
  options: {
    rate: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string' },
    modes: { type: 'string' },
    redis: { type: 'string' }
  },
  strict: true
})
const redisUrl = values.redis ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const d = SLOW_HANDLER_DEFAULTS
const settings = {
  ...d,
  rate: Number(values.rate ?? d.rate),
  seconds: Number(values.seconds ?? d.seconds),
  rounds: Number(values.rounds ?? d.rounds),
  warmupSeconds: Number(values.warmup ?? d.warmupSeconds),
  concurrency: Number(values.concurrency ?? d.concurrency),
  modes: (values.modes?.split(',') ?? d.modes) as SlowMode[]
}
const runPrefix = `sb:${Math.random().toString(36).slice(2, 10).padEnd(8, '0')}:`
const redis = new Redis(redisUrl)
process.once('exit', killAllServers)
try {
  const report = await benchSlowHandler(redis, redisUrl, runPrefix, settings, (m) => { process.stderr.write(`${m}\n`) })
  process.stdout.write(renderSlowHandler(report))
  const failures = slowHandlerFailures(report)
  for (const failure of failures) process.stderr.write(`bench: ${failure}\n`)
  if (failures.length > 0) process.exitCode = 1
} finally {
  await redis.quit()
}
