/**
 * `npm run bench`: the plugin against what a user would otherwise pick, side by side on one machine.
 *
 *   npm run bench                 full run (about 10 minutes on 2 cores), writes bench/results/latest.{json,md} and chart.svg
 *   npm run bench -- --quick      smoke run (CI; minutes at most), writes bench/results/quick.*; asserts no speed
 *   npm run bench -- --profile    also writes V8 CPU profiles per server to bench/results/profiles/<server>/;
 *                                 npx tsx bench/profile-summary.ts bench/results/profiles/<server> tells where the time went
 *   options: --only=plugin-redis,handwritten  --workloads=unique,redeliveries,slow-handler  --seconds=6  --warmup=2
 *            --rate=300 (slow-handler's arrival rate)  --jobs=10000 (drain's jobs per round)  --no-memory  --redis=redis://127.0.0.1:6379
 *
 * Each contender server runs in a child process of its own; autocannon drives it from this process over
 * loopback. Last, the slow-handler workload (d) compares synchronous and queue mode with a 50 ms handler under
 * an open-loop load at a fixed rate (bench/lib/slow-handler.ts), its worker in a process of its own. Every Redis key of the run starts with `sb:<run id>:` and is deleted at the end (never FLUSHALL:
 * the Redis may be shared), and every child is stopped, also when the run is interrupted.
 */
import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { combineRounds, runLoad, type LoadResult } from './lib/load.js'
import { countKeys, deleteKeys, redisCpu, sampleMemoryUsage } from './lib/redis.js'
import {
  BASELINE, CEILING, DRAIN_BASELINE, QUEUE_BASELINE, heapGrowthPastBound, renderMarkdown, renderSvg, rowOf,
  type ContenderInfo, type HeapResult, type Report, type RunRow, type TargetCheck
} from './lib/report.js'
import { fetchStats, killAllServers, startServer, stopServer, type ServerProcess } from './lib/servers.js'
import { WORKLOADS, createWorkload, signedWorkload, type WorkloadName } from './lib/workloads.js'
import { benchDrain, type DrainContender, type DrainRow, type DrainSettings } from './lib/drain.js'
import { SLOW_HANDLER_DEFAULTS, benchSlowHandler, slowHandlerFailures, type SlowHandlerReport, type SlowHandlerSettings } from './lib/slow-handler.js'
import { measureRedisMemory, type RedisMemoryResult } from './memory/redis-memory.js'

interface Contender extends ContenderInfo {
  /** Five characters: with `sb:<8-char run id>:` and a colon, every contender's key prefix has the default's 18 characters. */
  readonly code: string
  /** The server script under bench/servers/ (default: `name`). */
  readonly server?: string
  /** Plugin options merged over the defaults (option contenders of `plugin-redis`), as BENCH_OPTIONS. */
  readonly options?: Readonly<Record<string, unknown>>
  /** Give the server the fake super.AI API's base URL (BENCH_FAKE_API), for `verify`. */
  readonly fakeApi?: true
  /** The workloads it runs (default: all three). */
  readonly workloads?: readonly WorkloadName[]
  /** Its callbacks are signed (the `signature` option): workload (a) signed with the run's key. */
  readonly signed?: true
  /** More environment for its server (a diagnostic contender's variant). */
  readonly env?: Readonly<Record<string, string>>
}

/** The run's signing key: the `signature` contender is given its public half, the sender signs with the private one. */
const SIGNING = generateKeyPairSync('ec', { namedCurve: 'P-256' })

/**
 * What an option costs: the plugin with Redis and one option more, on workload (a) only (server CPU per
 * request beside the default's). One line per option.
 */
const option = (name: string, code: string, label: string, options: Record<string, unknown>, extra: Partial<Contender> = {}): Contender =>
  ({ name: `plugin-${name}`, code, label: `fastify-superai-callbacks, Redis, ${label}`, dedupe: true, redis: true, group: 'option', server: 'plugin-redis', options, workloads: ['unique'], ...extra })

/** A diagnostic contender: bench/servers/plugin-redis-store.ts with BENCH_STORE=`variant`, on (a) and (b). */
const diagnostic = (name: string, code: string, label: string, variant: string): Contender =>
  option(name, code, `diagnostic: ${label}`, {}, { server: 'plugin-redis-store', group: 'diagnostic', env: { BENCH_STORE: variant }, workloads: ['unique', 'redeliveries'] })

const CONTENDERS: readonly Contender[] = [
  { name: 'plugin-redis', code: 'plugr', label: 'fastify-superai-callbacks, Redis', dedupe: true, redis: true, group: 'sync' },
  { name: 'plugin-memory', code: 'plugm', label: 'fastify-superai-callbacks, in-memory store', dedupe: true, redis: false, group: 'sync' },
  { name: 'bare', code: 'bare_', label: 'bare Fastify route, no dedupe (ceiling)', dedupe: false, redis: false, group: 'sync' },
  { name: 'handwritten', code: 'handw', label: 'hand-written SET uuid:state:action NX EX, ioredis', dedupe: true, redis: true, group: 'sync' },
  { name: 'handwritten-digest', code: 'handd', label: 'hand-written SET NX EX keyed by a SHA-256 of the body, response schema', dedupe: true, redis: true, group: 'sync' },
  { name: 'powertools', code: 'power', label: '@aws-lambda-powertools/idempotency, Redis', dedupe: true, redis: true, group: 'sync' },
  { name: 'node-idempotency', code: 'nodei', label: '@node-idempotency/core, Redis', dedupe: true, redis: true, group: 'sync' },
  // queue mode, receiving: the handler runs in a worker, so these answer 202 and run nothing themselves
  { name: 'plugin-queue', code: 'plugq', label: 'fastify-superai-callbacks, queue mode, receiving (`concurrency: 0`)', dedupe: true, redis: true, group: 'queue', workloads: ['unique', 'redeliveries'] },
  { name: 'bullmq-receive', code: 'bullr', label: 'raw BullMQ: a route calling `Queue.add` with a job id', dedupe: false, redis: true, group: 'queue', workloads: ['unique', 'redeliveries'] },
  option('verify', 'plugv', '`verify` (a fake super.AI API on 127.0.0.1)', { verify: { apiKey: 'bench-api-key' } }, { fakeApi: true }),
  option('signature', 'plugs', '`signature` (ECDSA P-256, bodies signed before each round)', { signature: { publicKey: SIGNING.publicKey.export({ type: 'spki', format: 'pem' }) } }, { signed: true }),
  option('superseded', 'plugx', '`superseded: \'skip\'`', { superseded: 'skip' }),
  // telemetry: off with an SDK registered (nothing loaded: within noise of the default), and on with the same SDK
  option('telemetry-off', 'plugo', '`telemetry` off, an OpenTelemetry SDK registered', {}, { env: { BENCH_OTEL: '1' } }),
  option('telemetry', 'plugt', '`telemetry: true`, an OpenTelemetry SDK registered (every span sampled, exported nowhere)', { telemetry: true }, { env: { BENCH_OTEL: '1' } }),
  // diagnostics: the plugin with one part of its store taken out, to show what that part costs
  diagnostic('unmarked', 'plugu', 'no job marks (the store without `claimAndRead`/`completeAndMark`)', 'unmarked'),
  diagnostic('unbatched', 'plugb', 'store operations sent one by one (`RedisStore` `batch: false`)', 'unbatched'),
  // waitFor's publication with nobody waiting: the same wrapped store with and without it, on (a) where every delivery completes
  diagnostic('announced', 'pluga', 'completions announced (the PUBLISH `waitFor` hears), store behind a wrapper', 'announced'),
  diagnostic('unannounced', 'plugn', 'completions not announced (no PUBLISH), the same wrapper', 'unannounced'),
]

/** Queue mode, draining: each a worker process of its own emptying a queue the harness filled (workload (e)). */
const DRAINERS: readonly DrainContender[] = [
  { name: 'plugin-worker', code: 'plugw', label: 'fastify-superai-callbacks, `createSuperaiWorker` (concurrency 50)', plugin: true },
  { name: 'bullmq-worker', code: 'bullw', label: 'raw BullMQ: a bare `Worker` (concurrency 50)', plugin: false },
  // diagnostic: the plugin's jobs without its worker, so the gap above splits into the jobs' cost and the run claim's
  { name: 'bullmq-worker-plugin-jobs', code: 'bullp', label: 'diagnostic: a bare `Worker` over the plugin\'s jobs (its data, options, retention), no run claim', plugin: true }
]

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    workloads: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    rate: { type: 'string' },
    jobs: { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    redis: { type: 'string', default: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' }
  },
  strict: true
})

const quick = args.quick === true
/** Only the default full run replaces the published results; a partial or profiled one is written apart. */
const partial = args.only !== undefined || args.workloads !== undefined || args.seconds !== undefined || args.warmup !== undefined ||
  args.rounds !== undefined || args.rate !== undefined || args.jobs !== undefined || args.profile === true || args['no-memory'] === true
const REDIS_URL = args.redis ?? 'redis://127.0.0.1:6379'
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const PROFILES = `${RESULTS}profiles/`
const seconds = args.seconds === undefined ? undefined : Number(args.seconds)
const SETTINGS = {
  warmupSeconds: args.warmup !== undefined ? Number(args.warmup) : quick ? 0.2 : 2,
  /** Each workload runs this many times per contender, contenders interleaved; req/s and percentiles are the rounds' median. */
  rounds: args.rounds !== undefined ? Number(args.rounds) : quick ? 1 : 5,
  /** Seconds of one round. */
  seconds: {
    unique: seconds ?? (quick ? 0.5 : 2),
    redeliveries: seconds ?? (quick ? 0.5 : 2),
    'one-callback': seconds ?? (quick ? 0.3 : 1)
  } satisfies Record<WorkloadName, number>,
  connections: Object.fromEntries(WORKLOADS.map((w) => [w.name, w.connections])) as Record<WorkloadName, number>
}
/** (d): the quick run keeps it to about 10 s (synchronous and queue mode, one round of 2 s each); the full run to about 70 s. */
const SLOW_HANDLER: SlowHandlerSettings = {
  ...SLOW_HANDLER_DEFAULTS,
  modes: quick ? ['sync', 'queue'] : SLOW_HANDLER_DEFAULTS.modes,
  rate: args.rate !== undefined ? Number(args.rate) : SLOW_HANDLER_DEFAULTS.rate,
  seconds: seconds ?? (quick ? 2 : SLOW_HANDLER_DEFAULTS.seconds),
  rounds: args.rounds !== undefined ? Number(args.rounds) : quick ? 1 : SLOW_HANDLER_DEFAULTS.rounds,
  warmupSeconds: args.warmup !== undefined ? Number(args.warmup) : quick ? 0.5 : SLOW_HANDLER_DEFAULTS.warmupSeconds,
  drainTimeoutMs: quick ? 15_000 : SLOW_HANDLER_DEFAULTS.drainTimeoutMs
}
/** (e): each worker drains this many jobs per round, rounds as (a)-(c)'s. */
const DRAIN: DrainSettings = {
  jobs: args.jobs !== undefined ? Number(args.jobs) : quick ? 1000 : 10_000,
  rounds: SETTINGS.rounds,
  warmupJobs: quick ? 200 : 5000,
  concurrency: 50
}
const REDIS_MEMORY_CALLBACKS = quick ? 10_000 : 100_000
const HEAP_DELIVERIES = quick ? 60_000 : 1_000_000
const HEAP_MAX_ENTRIES = quick ? 20_000 : 100_000

const only = args.only?.split(',')
const chosenWorkloads = args.workloads?.split(',')
const workloads = chosenWorkloads === undefined ? WORKLOADS : WORKLOADS.filter((w) => chosenWorkloads.includes(w.name))
const runsAny = (c: Contender): boolean => workloads.some((w) => c.workloads === undefined || c.workloads.includes(w.name))
const contenders = (only === undefined ? CONTENDERS : CONTENDERS.filter((c) => only.includes(c.name))).filter(runsAny)
const drainers = only === undefined ? DRAINERS : DRAINERS.filter((c) => only.includes(c.name))
const drainChosen = (chosenWorkloads === undefined || chosenWorkloads.includes('drain')) && drainers.length > 0
const slowHandlerChosen = chosenWorkloads === undefined || chosenWorkloads.includes('slow-handler')
if ((contenders.length === 0 || workloads.length === 0) && !slowHandlerChosen && !drainChosen) throw new Error('--only / --workloads left nothing to run')

const runId = Math.random().toString(36).slice(2, 10).padEnd(8, '0')
const RUN_PREFIX = `sb:${runId}:`
const prefixOf = (contender: Contender): string => `${RUN_PREFIX}${contender.code}:`

const log = (message: string): void => { process.stderr.write(`${message}\n`) }
const startedAt = performance.now()
const elapsed = (): string => `${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)}s`
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Runs the in-memory store heap test in a child of its own with --expose-gc. */
async function measureHeap (): Promise<HeapResult> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./memory/memory-store-heap.ts', import.meta.url))], {
    env: { ...process.env, DELIVERIES: String(HEAP_DELIVERIES), MAX_ENTRIES: String(HEAP_MAX_ENTRIES) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  const [code] = await once(child, 'exit') as [number | null]
  if (code !== 0) throw new Error(`memory-store heap test exited with ${code}`)
  return JSON.parse(out) as HeapResult
}

function checkTargets (rows: readonly RunRow[], drain: readonly DrainRow[], redisMemory: RedisMemoryResult | undefined, heap: HeapResult | undefined,
  slowHandler: SlowHandlerReport | undefined): TargetCheck[] {
  const checks: TargetCheck[] = []
  const measured = (['unique', 'redeliveries'] as const).filter((w) => workloads.some((x) => x.name === w))
  const compare = (other: string, min: number, what: string): void => {
    const parts: string[] = []
    let met = true
    let any = false
    for (const workload of measured) {
      const plugin = rowOf(rows, 'plugin-redis', workload)
      const base = rowOf(rows, other, workload)
      if (plugin === undefined || base === undefined) continue
      any = true
      const r = plugin.rps / base.rps
      met &&= r >= min
      parts.push(`${workload === 'unique' ? '(a)' : '(b)'} ${r.toFixed(2)}×`)
    }
    if (any) checks.push({ target: `plugin (Redis) ≥ ${min}× ${what} req/s on (a) and (b)`, measured: parts.join(', '), met })
  }
  compare(BASELINE, 1.05, 'the hand-written SET NX route')
  {
    const parts: string[] = []
    let met = true
    for (const workload of measured) {
      const plugin = rowOf(rows, 'plugin-redis', workload)
      const base = rowOf(rows, BASELINE, workload)
      if (plugin === undefined || base === undefined) continue
      met &&= plugin.p99 <= base.p99
      parts.push(`${workload === 'unique' ? '(a)' : '(b)'} ${plugin.p99.toFixed(2)} vs ${base.p99.toFixed(2)} ms`)
    }
    if (parts.length > 0) checks.push({ target: 'plugin (Redis) p99 no worse than the hand-written route on (a) and (b)', measured: parts.join(', '), met })
  }
  compare('powertools', 1.5, 'Powertools idempotency')
  compare(CEILING, 0.5, 'the bare route')
  {
    const plugin = rowOf(rows, 'plugin-queue', 'unique')
    const raw = rowOf(rows, QUEUE_BASELINE, 'unique')
    if (plugin !== undefined && raw !== undefined) {
      const r = plugin.rps / raw.rps
      const other = rowOf(rows, 'plugin-queue', 'redeliveries')
      const otherRaw = rowOf(rows, QUEUE_BASELINE, 'redeliveries')
      checks.push({
        target: 'queue mode, receiving: ≥ 0.85× raw BullMQ\'s 202s per second on (a)',
        measured: `(a) ${r.toFixed(2)}× (${Math.round(plugin.rps)} vs ${Math.round(raw.rps)})${other === undefined || otherRaw === undefined ? '' : `; (b) ${(other.rps / otherRaw.rps).toFixed(2)}×`}`,
        met: r >= 0.85
      })
    }
    const worker = drain.find((d) => d.contender === 'plugin-worker')
    const rawWorker = drain.find((d) => d.contender === DRAIN_BASELINE)
    if (worker !== undefined && rawWorker !== undefined) {
      const r = worker.jobsPerSecond / rawWorker.jobsPerSecond
      checks.push({ target: 'queue mode, draining: ≥ 0.75× a bare BullMQ Worker\'s jobs per second (e)', measured: `${r.toFixed(2)}× (${Math.round(worker.jobsPerSecond)} vs ${Math.round(rawWorker.jobsPerSecond)})`, met: r >= 0.75 })
    }
    if (drain.length > 0) {
      checks.push({ target: '(e) every job\'s handler runs exactly once', measured: drain.map((d) => `${d.contender} ${d.handlerRuns} of ${d.jobs}`).join(', '), met: drain.every((d) => d.handlerRuns === d.jobs) })
    }
  }
  {
    const parts: string[] = []
    let met = true
    for (const contender of contenders.filter((c) => c.dedupe && c.group !== 'queue')) {
      const row = rowOf(rows, contender.name, 'one-callback')
      if (row === undefined) continue
      // one fresh callback per round: the handler runs once per round
      met &&= row.handlerRuns === row.distinct
      parts.push(`${contender.name} ${row.handlerRuns} of ${row.distinct}`)
    }
    if (parts.length > 0) checks.push({ target: '(c): the handler runs exactly once per callback delivered 100 times at once (every deduplicating contender)', measured: parts.join(', '), met })
  }
  {
    const parts: string[] = []
    for (const workload of measured) {
      const plugin = rowOf(rows, 'plugin-redis', workload)
      const base = rowOf(rows, BASELINE, workload)
      if (plugin === undefined || base === undefined) continue
      parts.push(`${workload === 'unique' ? '(a)' : '(b)'} ${plugin.serverCpuPerRequest.toFixed(0)} vs ${base.serverCpuPerRequest.toFixed(0)} µs`)
    }
    if (parts.length > 0) {
      checks.push({ target: 'diagnostic, not a target: server CPU per request, plugin (Redis) vs hand-written', measured: parts.join(', '), met: true, diagnostic: true })
    }
  }
  if (redisMemory !== undefined) {
    checks.push({
      target: `≤ ${redisMemory.budget} bytes of Redis memory per remembered callback`,
      measured: `${redisMemory.memoryUsage.toFixed(1)} bytes (${redisMemory.keyLength}-character keys; ≤ ${redisMemory.longestKeyWithinBudget ?? '?'} characters would fit)`,
      met: redisMemory.memoryUsage <= redisMemory.budget
    })
  }
  if (heap !== undefined) {
    const growth = heapGrowthPastBound(heap)
    checks.push({
      target: `in-memory store heap flat past its bound (≤ 5% growth from ${(2 * heap.maxEntries).toLocaleString('en-US')} to ${heap.deliveries.toLocaleString('en-US')} deliveries, bound ${heap.maxEntries.toLocaleString('en-US')})`,
      measured: growth === undefined ? 'bound not reached' : `${(growth.steady / 1048576).toFixed(1)} → ${(growth.last / 1048576).toFixed(1)} MiB (${growth.growth >= 0 ? '+' : ''}${(growth.growth * 100).toFixed(1)}%)`,
      met: growth !== undefined && growth.growth <= 0.05
    })
  }
  if (slowHandler !== undefined) {
    const rowOfMode = (mode: string): SlowHandlerReport['rows'][number] | undefined => slowHandler.rows.find((r) => r.mode === mode)
    const apart = rowOfMode('queue')
    const inProcess = rowOfMode('queue-inprocess')
    const sync = rowOfMode('sync')
    const rate = `${slowHandler.settings.rate} requests/s`
    if (apart !== undefined) {
      checks.push({
        target: `(d) queue mode answers with a p99 under 10 ms (worker in another process, ${slowHandler.settings.handlerMs} ms handler, ${rate})`,
        measured: `${apart.p99.toFixed(2)} ms (rounds: ${apart.rounds.map((r) => r.p99.toFixed(1)).join(', ')} ms)` +
          `${inProcess === undefined ? '' : `; worker in the receiver: ${inProcess.p99.toFixed(2)} ms`}${sync === undefined ? '' : `; synchronous: ${sync.p99.toFixed(1)} ms`}`,
        met: apart.p99 < 10
      })
    }
    const queued = slowHandler.rows.filter((r) => r.mode === 'queue' || r.mode === 'queue-inprocess')
    if (queued.length > 0) {
      checks.push({
        target: '(d) queue mode never answers 409',
        measured: `${queued.map((r) => `${r.mode} ${r.conflicts} × 409 of ${r.answered}`).join(', ')}${sync === undefined ? '' : `; synchronous ${sync.conflicts}`}`,
        met: queued.every((r) => r.conflicts === 0)
      })
    }
    checks.push({
      target: '(d) every callback\'s handler runs exactly once, in every mode',
      measured: slowHandler.rows.map((r) => `${r.mode} ${r.handlerRuns} of ${r.distinct}`).join(', '),
      met: slowHandler.rows.every((r) => r.handlerRuns === r.distinct && r.runTwice === 0 && r.notRun === 0)
    })
  }
  return checks
}

async function main (): Promise<number> {
  const started = performance.now()
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false })
  redis.on('error', () => {})
  try {
    await redis.connect()
  } catch (err) {
    log(`bench: Redis is not reachable at ${REDIS_URL} (${(err as Error).message}); start one, e.g. redis-server --save "" --appendonly no`)
    redis.disconnect()
    return 1
  }
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?'

  const servers = new Map<string, ServerProcess>()
  const serverOf = (name: string): ServerProcess => {
    const server = servers.get(name)
    if (server === undefined) throw new Error(`no server ${name}`)
    return server
  }
  let interrupted = false
  // once only, whoever asks first (the run's end, or a signal while the run goes on): every server has
  // exited before the keys are deleted, so that none writes after
  let cleaning: Promise<void> | undefined
  const cleanUp = async (): Promise<void> => {
    cleaning ??= (async () => {
      await Promise.allSettled([...servers.values()].map(async (server) => { await stopServer(server) }))
      const left = await deleteKeys(redis, RUN_PREFIX)
      if (left > 0) log(`bench: deleted ${left} leftover keys under ${RUN_PREFIX}`)
    })()
    await cleaning
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return
    interrupted = true
    log(`bench: ${signal}, stopping servers and deleting the run's keys`)
    cleanUp().catch((err: unknown) => { log(`bench: clean-up failed: ${String(err)}`) }).finally(() => {
      killAllServers()
      redis.disconnect()
      process.exit(130)
    })
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.once('exit', killAllServers)

  const rows: RunRow[] = []
  let redisMemory: RedisMemoryResult | undefined
  let heap: HeapResult | undefined
  let slowHandler: SlowHandlerReport | undefined
  let drain: DrainRow[] = []
  try {
    if (args.profile === true) await rm(PROFILES, { recursive: true, force: true })
    log(`bench: ${quick ? 'quick' : 'full'} run ${runId}; starting ${contenders.length} servers`)
    const nodeFlags = (name: string): string[] => args.profile === true
      // a directory per server: the tsx loader's worker thread writes a profile of its own next to the main thread's
      ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}${name}`]
      : []
    // the memory tests are not timed: the heap test (its own process) overlaps the Redis one, the servers'
    // start and the warm-up; the Redis one runs alone against Redis, before any server writes there
    const heapTest = args['no-memory'] === true ? undefined : measureHeap()
    heapTest?.catch(() => {})
    if (args['no-memory'] !== true) {
      redisMemory = await measureRedisMemory(REDIS_URL, RUN_PREFIX, REDIS_MEMORY_CALLBACKS)
      log(`  ${elapsed()} memory: Redis ${redisMemory.memoryUsage.toFixed(1)} bytes per remembered callback (MEMORY USAGE over ${REDIS_MEMORY_CALLBACKS.toLocaleString('en-US')}), ${redisMemory.usedMemoryPerKey.toFixed(1)} (used_memory growth)`)
    }
    // the fake super.AI API of `verify`, a process of its own, so that its CPU is not the server's
    if (workloads.length > 0 && contenders.some((c) => c.fakeApi === true)) servers.set('fake-api', await startServer('fake-api', { env: {} }))
    const fakeApiUrl = (): string => `http://127.0.0.1:${serverOf('fake-api').port}/v1`
    // started a few at a time (cheaper than one by one; a dozen at once on 2 cores made some miss their
    // start timeout); idle servers cost nothing while another is measured
    const startContenders = async (): Promise<void> => {
      const toStart = [...contenders]
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let c = toStart.shift(); c !== undefined; c = toStart.shift()) {
          const env: Record<string, string> = { BENCH_PREFIX: prefixOf(c), BENCH_REDIS_URL: REDIS_URL, BENCH_QUEUE: 'bench' }
          if (c.options !== undefined) env.BENCH_OPTIONS = JSON.stringify(c.options)
          if (c.fakeApi === true) env.BENCH_FAKE_API = fakeApiUrl()
          Object.assign(env, c.env)
          servers.set(c.name, await startServer(c.server ?? c.name, { env, nodeFlags: nodeFlags(c.name), timeoutMs: 60_000 }))
        }
      }))
      for (const c of contenders) {
        log(`  ${elapsed()} warm-up ${c.name} (${SETTINGS.warmupSeconds} s)`)
        await runLoad(serverOf(c.name).port, c.signed === true ? signedWorkload(SIGNING.privateKey, 1000) : createWorkload('redeliveries', 7), SETTINGS.warmupSeconds)
        if (c.redis) await deleteKeys(redis, prefixOf(c))
      }
    }
    const stopContenders = async (): Promise<void> => {
      await Promise.allSettled(contenders.map(async (c) => {
        const server = servers.get(c.name)
        servers.delete(c.name)
        if (server !== undefined) await stopServer(server)
      }))
    }

    type Accumulated = { rounds: LoadResult[], handlerRuns: number, distinct: number, sent: number, redisBytes: number[], cpuMicros: number, redisCpuMicros: number }
    const results = new Map<string, Accumulated>()
    const resultKey = (workload: string, contender: string): string => `${workload}\u0000${contender}`
    // a fresh process per contender each round: how fast one process of the same code runs varies from
    // process to process on this machine (by 10-20% in req/s and CPU per request: two contenders running
    // the same code path differed that much in one run), so the median spans processes, not one process' luck
    for (let round = 0; round < (workloads.length === 0 ? 0 : SETTINGS.rounds); round++) {
      await startContenders()
      log(`  ${elapsed()} round ${round + 1}: servers listening and warm`)
      // nothing else may run while a contender is measured
      if (heapTest !== undefined && heap === undefined) {
        heap = await heapTest
        const growth = heapGrowthPastBound(heap)
        if (growth !== undefined) log(`  ${elapsed()} memory: in-memory store heap ${(growth.atBound / 1048576).toFixed(1)} MiB at the bound, ${(growth.steady / 1048576).toFixed(1)} MiB at twice the bound, ${(growth.last / 1048576).toFixed(1)} MiB after ${heap.deliveries.toLocaleString('en-US')} deliveries`)
      }
      for (const { name: workloadName } of workloads) {
        // each round in a rotated order, so that no contender always follows the same one
        const here = contenders.filter((c) => c.workloads === undefined || c.workloads.includes(workloadName))
        for (let i = 0; i < here.length; i++) {
          const c = here[(i + round) % here.length]
          if (c === undefined) continue
          const server = serverOf(c.name)
          // signed bodies for the signature contender: enough for a round at a few thousand requests per second
          const workload = c.signed === true ? signedWorkload(SIGNING.privateKey, Math.ceil(4000 * SETTINGS.seconds.unique)) : createWorkload(workloadName, 42 + round)
          const before = await fetchStats(server.port)
          const redisCpuBefore = await redisCpu(redis)
          const result = await runLoad(server.port, workload, SETTINGS.seconds[workloadName])
          await sleep(50)
          const redisCpuAfter = await redisCpu(redis)
          const after = await fetchStats(server.port)
          const handlerRuns = after.handled - before.handled
          // the queue contenders' keys are BullMQ's jobs, not one key per callback
          const sample = c.redis && c.group !== 'queue' ? await sampleMemoryUsage(redis, prefixOf(c), 500, /:lock$/) : undefined
          if (c.redis) await deleteKeys(redis, prefixOf(c))
          const acc = results.get(resultKey(workloadName, c.name)) ?? { rounds: [], handlerRuns: 0, distinct: 0, sent: 0, redisBytes: [], cpuMicros: 0, redisCpuMicros: 0 }
          results.set(resultKey(workloadName, c.name), acc)
          acc.rounds.push(result)
          acc.cpuMicros += after.cpuMicros - before.cpuMicros
          acc.redisCpuMicros += redisCpuAfter - redisCpuBefore
          acc.handlerRuns += handlerRuns
          acc.distinct += workload.distinct
          acc.sent += workload.sent
          if (sample !== undefined && sample.keys > 0) acc.redisBytes.push(sample.average)
          const other = Object.entries(result.status).filter(([code]) => !code.startsWith('2')).map(([code, n]) => `${n}×${code}`).join(' ')
          log(`  ${elapsed()} ${workloadName.padEnd(12)} r${round + 1} ${c.name.padEnd(17)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  cpu ${((after.cpuMicros - before.cpuMicros) / Math.max(1, result.requests)).toFixed(0)} µs/req  redis ${((redisCpuAfter - redisCpuBefore) / Math.max(1, result.requests)).toFixed(0)} µs/req  handler ${handlerRuns}/${workload.distinct}${other === '' ? '' : `  ${other}`}${result.errors > 0 ? `  ${result.errors} errors` : ''}`)
        }
      }
      await stopContenders()
    }
    for (const { name: workloadName } of workloads) {
      for (const c of contenders) {
        const acc = results.get(resultKey(workloadName, c.name))
        if (acc === undefined) continue
        const redisBytesPerKey = acc.redisBytes.length === 0 ? undefined : acc.redisBytes.reduce((a, b) => a + b, 0) / acc.redisBytes.length
        const combined = combineRounds(acc.rounds)
        rows.push({
          contender: c.name,
          workload: workloadName,
          ...combined,
          handlerRuns: acc.handlerRuns,
          distinct: acc.distinct,
          sent: acc.sent,
          serverCpuPerRequest: acc.cpuMicros / Math.max(1, combined.requests),
          redisCpuPerRequest: acc.redisCpuMicros / Math.max(1, combined.requests),
          ...(redisBytesPerKey === undefined ? {} : { redisBytesPerKey })
        })
      }
    }
    if (heapTest !== undefined && heap === undefined) heap = await heapTest

    // the contenders are done: stopped, so that (e) and (d) share the machine with none of them
    await Promise.allSettled([...servers.values()].map(async (server) => { await stopServer(server) }))
    if (drainChosen) {
      log(`  ${elapsed()} drain (e): ${drainers.map((d) => d.name).join(', ')}; ${DRAIN.rounds} × ${DRAIN.jobs.toLocaleString('en-US')} jobs each`)
      drain = await benchDrain(redis, REDIS_URL, RUN_PREFIX, drainers, DRAIN, (message) => { log(`  ${elapsed()}${message}`) }, nodeFlags)
    }
    if (slowHandlerChosen) {
      log(`  ${elapsed()} slow-handler (d): ${SLOW_HANDLER.modes.join(', ')}; ${SLOW_HANDLER.rate} requests/s, ${SLOW_HANDLER.rounds} × ${SLOW_HANDLER.seconds} s each`)
      slowHandler = await benchSlowHandler(redis, REDIS_URL, `${RUN_PREFIX}`, SLOW_HANDLER, (message) => { log(`  ${elapsed()}${message}`) })
    }
  } catch (err) {
    // an interrupted run fails on its way out (servers gone): the signal handler reports and exits
    if (!interrupted) throw err
  } finally {
    await cleanUp()
  }
  if (interrupted) return 130

  const left = await countKeys(redis, RUN_PREFIX)
  await redis.quit()
  if (left > 0) {
    log(`bench: ${left} keys under ${RUN_PREFIX} could not be deleted`)
    return 1
  }

  const targets = checkTargets(rows, drain, redisMemory, heap, slowHandler)
  const cpu = cpus()
  const report: Report = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: quick ? 'quick' : partial ? 'partial' : 'full',
    machine: { node: process.version, cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? '?', redis: redisVersion, loadavg: loadavg() },
    settings: SETTINGS,
    contenders: contenders.map(({ name, label, dedupe, redis: usesRedis, group }) => ({ name, label, dedupe, redis: usesRedis, group })),
    workloads: workloads.map(({ name, label }) => ({ name, label })),
    rows,
    ...(drain.length === 0 ? {} : { drain, drainSettings: DRAIN }),
    ...(redisMemory === undefined ? {} : { redisMemory }),
    ...(heap === undefined ? {} : { heap }),
    ...(slowHandler === undefined ? {} : { slowHandler }),
    targets,
    seconds: (performance.now() - started) / 1000
  }
  const base = quick ? 'quick' : partial ? 'custom' : 'latest'
  const chart = quick ? 'quick-chart' : partial ? 'custom-chart' : 'chart'
  await mkdir(RESULTS, { recursive: true })
  const markdown = renderMarkdown(report)
  await writeFile(`${RESULTS}${base}.json`, `${JSON.stringify(report, null, 2)}\n`)
  await writeFile(`${RESULTS}${base}.md`, markdown)
  await writeFile(`${RESULTS}${chart}.svg`, renderSvg(report))
  process.stdout.write(markdown)
  log(`bench: done in ${report.seconds.toFixed(1)} s; wrote bench/results/${base}.json, ${base}.md, ${chart}.svg; Redis left clean`)
  // correctness, not speed: judged in every run, the quick one included
  const failures = [
    ...slowHandler === undefined ? [] : slowHandlerFailures(slowHandler).map((f) => `slow-handler: ${f}`),
    ...drain.filter((d) => d.handlerRuns !== d.jobs).map((d) => `drain: ${d.contender} ran the handler ${d.handlerRuns} times for ${d.jobs} jobs`)
  ]
  for (const failure of failures) log(`bench: ${failure}`)
  return failures.length > 0 ? 1 : 0
}

process.exitCode = await main()
