/** The results as JSON, a Markdown table and an SVG bar chart (a plain string, no browser). */
import type { LoadResult, RoundSummary } from './load.js'
import type { WorkloadName } from './workloads.js'
import type { RedisMemoryResult } from '../memory/redis-memory.js'
import { renderSlowHandler, type SlowHandlerReport } from './slow-handler.js'
import type { DrainRow, DrainSettings } from './drain.js'

export interface ContenderInfo {
  readonly name: string
  readonly label: string
  readonly dedupe: boolean
  readonly redis: boolean
  /**
   * `sync`: deduplicating routes, against the hand-written one; `queue`: receiving in queue mode, against raw
   * BullMQ; `option`: the plugin with one option more; `diagnostic`: the plugin with a part taken out, to
   * show what that part costs (not a configuration to choose, so not in the README's summary).
   */
  readonly group: 'sync' | 'queue' | 'option' | 'diagnostic'
}

export interface RunRow extends LoadResult {
  readonly contender: string
  readonly workload: WorkloadName
  /** How many times the handler ran during the measured window. */
  readonly handlerRuns: number
  /** Different callbacks sent during the measured window: a deduplicating contender runs the handler at most this often. */
  readonly distinct: number
  readonly sent: number
  /** Average `MEMORY USAGE` of the keys the contender left in Redis, bytes (Redis contenders). */
  readonly redisBytesPerKey?: number
  readonly rounds: readonly RoundSummary[]
  /** CPU time of the server process per answered request, microseconds: robust to a busy machine, unlike req/s. */
  readonly serverCpuPerRequest: number
  /** CPU time of Redis per answered request, microseconds (the whole Redis: other clients count too). */
  readonly redisCpuPerRequest: number
}

export interface HeapResult {
  readonly deliveries: number
  readonly maxEntries: number
  readonly baseline: number
  readonly samples: ReadonlyArray<{ readonly deliveries: number, readonly size: number, readonly heapUsed: number }>
  readonly seconds: number
}

export interface TargetCheck {
  readonly target: string
  readonly measured: string
  readonly met: boolean
  /** Shown for understanding, not judged. */
  readonly diagnostic?: boolean
}

export interface Report {
  readonly date: string
  readonly command: string
  readonly mode: 'quick' | 'partial' | 'full'
  readonly machine: { readonly node: string, readonly cpus: number, readonly cpuModel: string, readonly redis: string, readonly loadavg: readonly number[] }
  readonly settings: { readonly warmupSeconds: number, readonly rounds: number, readonly seconds: Readonly<Record<WorkloadName, number>>, readonly connections: Readonly<Record<WorkloadName, number>> }
  readonly contenders: readonly ContenderInfo[]
  readonly workloads: ReadonlyArray<{ readonly name: WorkloadName, readonly label: string }>
  readonly rows: readonly RunRow[]
  readonly redisMemory?: RedisMemoryResult
  readonly heap?: HeapResult
  /** (d): synchronous vs queue mode with a slow handler, open-loop load. */
  readonly slowHandler?: SlowHandlerReport
  /** (e): queue workers draining a filled queue. */
  readonly drain?: readonly DrainRow[]
  readonly drainSettings?: DrainSettings
  readonly targets: readonly TargetCheck[]
  readonly seconds: number
}

export const BASELINE = 'handwritten'
export const CEILING = 'bare'
/** Queue mode's references: raw BullMQ receiving (a route calling `Queue.add`) and draining (a bare `Worker`). */
export const QUEUE_BASELINE = 'bullmq-receive'
export const DRAIN_BASELINE = 'bullmq-worker'

export function rowOf (rows: readonly RunRow[], contender: string, workload: WorkloadName): RunRow | undefined {
  return rows.find((row) => row.contender === contender && row.workload === workload)
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a'
const ms = (value: number): string => Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : 'n/a'
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !(b > 0) ? 'n/a' : `${(a / b).toFixed(2)}×`
const bytes = (value: number): string => `${(value / 1024 / 1024).toFixed(1)} MiB`

/** "1 of 1" for a deduplicating contender that ran the handler once per distinct callback; a receiver in queue mode runs none, so its 202s. */
function runs (row: RunRow, group: ContenderInfo['group']): string {
  if (group === 'queue') return `– (${fmt(row.status['202'] ?? 0)} × 202)`
  const mark = row.handlerRuns <= row.distinct ? '' : ' ⚠'
  return `${fmt(row.handlerRuns)} / ${fmt(row.distinct)}${mark}`
}

function non2xx (row: RunRow): string {
  const parts = Object.entries(row.status).filter(([code]) => !code.startsWith('2')).map(([code, n]) => `${fmt(n)}×${code}`)
  if (row.errors > 0) parts.push(`${fmt(row.errors)} errors`)
  return parts.length === 0 ? '0' : parts.join(', ')
}

/**
 * Heap past the bound: from the first sample at twice the bound (the store full and already turned over once,
 * its Map at its steady capacity) to the last. `atBound` is the first sample with the store full.
 */
export function heapGrowthPastBound (heap: HeapResult): { atBound: number, steady: number, last: number, max: number, growth: number } | undefined {
  const atBound = heap.samples.find((sample) => sample.size >= heap.maxEntries)
  const steady = heap.samples.find((sample) => sample.deliveries >= 2 * heap.maxEntries)
  const last = heap.samples.at(-1)
  if (atBound === undefined || steady === undefined || last === undefined || last === steady) return undefined
  const max = Math.max(...heap.samples.filter((s) => s.deliveries >= steady.deliveries).map((s) => s.heapUsed))
  return { atBound: atBound.heapUsed, steady: steady.heapUsed, last: last.heapUsed, max, growth: (last.heapUsed - steady.heapUsed) / steady.heapUsed }
}

export function renderMarkdown (report: Report): string {
  const lines: string[] = []
  const label = new Map(report.contenders.map((c) => [c.name, c.label]))
  lines.push(`<!-- generated by \`npm run bench\` (${report.mode} run, ${report.date}); do not edit by hand -->`)
  lines.push('')
  if (report.mode !== 'full') lines.push(`> A ${report.mode} run (\`${report.command}\`): it checks that the harness works; its figures are not the published ones.\n`)
  lines.push(`Node ${report.machine.node}, Redis ${report.machine.redis} on 127.0.0.1, ${report.machine.cpus} × ${report.machine.cpuModel}; ` +
    'autocannon over loopback in the same process tree, each server in its own process, one after the other; ' +
    `${report.settings.rounds} round${report.settings.rounds === 1 ? '' : 's'}, each with a fresh process per server warmed up ${report.settings.warmupSeconds} s, then per workload ` +
    `${report.settings.seconds.unique} s / ${report.settings.seconds.redeliveries} s / ${report.settings.seconds['one-callback']} s for (a) / (b) / (c) ` +
    `at ${report.settings.connections.unique} / ${report.settings.connections.redeliveries} / ${report.settings.connections['one-callback']} connections, contenders interleaved; ` +
    'req/s, p50 and p99 are the median of the rounds\', latency over every answered request. ' +
    'CPU per request is the server process\' user + system time (and Redis\' own, all its clients included) over the measured rounds, divided by the requests answered: ' +
    'unlike req/s it hardly moves when other work shares the machine. ' +
    '"Handler runs" counts the trivial handler\'s calls against the distinct callbacks sent (⚠: a callback was processed more than once).')
  lines.push('')
  for (const workload of report.workloads) {
    const baseline = rowOf(report.rows, BASELINE, workload.name)
    const ceiling = rowOf(report.rows, CEILING, workload.name)
    const queueBaseline = rowOf(report.rows, QUEUE_BASELINE, workload.name)
    const plugin = rowOf(report.rows, 'plugin-redis', workload.name)
    lines.push(`**${workload.label}**`)
    lines.push('')
    lines.push('| contender | req/s | p50 ms | p99 ms | × hand-written | × bare | × raw BullMQ | server CPU µs/req | Redis CPU µs/req | handler runs / distinct | non-2xx |')
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    for (const c of report.contenders) {
      const row = rowOf(report.rows, c.name, workload.name)
      if (row === undefined) continue
      const name = c.name.startsWith('plugin') ? `**${label.get(row.contender)}**` : label.get(row.contender)
      // an option's cost (or a part's, for a diagnostic row): its server CPU beside the default's
      const cpu = (c.group === 'option' || c.group === 'diagnostic') && plugin !== undefined
        ? `${fmt(row.serverCpuPerRequest)} (${row.serverCpuPerRequest >= plugin.serverCpuPerRequest ? '+' : ''}${fmt(row.serverCpuPerRequest - plugin.serverCpuPerRequest)})`
        : fmt(row.serverCpuPerRequest)
      lines.push(`| ${name} | ${fmt(row.rps)} | ${ms(row.p50)} | ${ms(row.p99)} | ${ratio(row.rps, baseline?.rps)} | ${ratio(row.rps, ceiling?.rps)} | ` +
        `${c.group === 'queue' ? ratio(row.rps, queueBaseline?.rps) : '–'} | ${cpu} | ${c.redis ? fmt(row.redisCpuPerRequest) : '–'} | ${runs(row, c.group)} | ${non2xx(row)} |`)
    }
    lines.push('')
  }

  const memoryRows = report.contenders.flatMap((contender) => {
    const sizes = report.rows.flatMap((row) => row.contender === contender.name && row.redisBytesPerKey !== undefined ? [row.redisBytesPerKey] : [])
    return sizes.length === 0 ? [] : [`| ${contender.label} | ${fmt(sizes.reduce((a, b) => a + b, 0) / sizes.length)} |`]
  })
  if (report.redisMemory !== undefined || report.heap !== undefined || memoryRows.length > 0) {
    lines.push('**Memory**')
    lines.push('')
  }
  if (report.redisMemory !== undefined) {
    const m = report.redisMemory
    lines.push(`- Redis, plugin: ${fmt(m.memoryUsage, 1)} bytes per remembered callback (average \`MEMORY USAGE\` over ${fmt(m.callbacks)} callbacks written by the plugin's RedisStore, ` +
      `${m.keyLength}-character keys such as \`${m.exampleKey}\`, value \`1\`, default ttl); \`used_memory\` grew ${fmt(m.usedMemoryPerKey, 1)} bytes per callback, expiry entry included. ` +
      `By key length: ${m.byKeyLength.map((r) => `${r.keyLength} → ${fmt(r.memoryUsage)}`).join(', ')} bytes` +
      (m.longestKeyWithinBudget === undefined ? '.' : `; keys of at most ${m.longestKeyWithinBudget} characters fit in ${m.budget} bytes.`))
  }
  if (memoryRows.length > 0) {
    lines.push('- Redis, each contender (average `MEMORY USAGE` of a sample of the keys it wrote during the run, prefixes of equal length):')
    lines.push('')
    lines.push('  | contender | bytes per callback |')
    lines.push('  | --- | ---: |')
    for (const row of memoryRows) lines.push(`  ${row}`)
    lines.push('')
  }
  if (report.heap !== undefined) {
    const h = report.heap
    const growth = heapGrowthPastBound(h)
    const at = (n: number): string => {
      const sample = h.samples.find((s) => s.deliveries >= n)
      return sample === undefined ? 'n/a' : bytes(sample.heapUsed)
    }
    lines.push(`- In-memory store (\`maxEntries\` ${fmt(h.maxEntries)}), ${fmt(h.deliveries)} deliveries of distinct callbacks: heapUsed after a full GC ${bytes(h.baseline)} at start, ` +
      `${growth === undefined ? 'n/a' : bytes(growth.atBound)} when the bound is reached, ${at(2 * h.maxEntries)} at ${fmt(2 * h.maxEntries)}, ${at(h.deliveries / 2)} at ${fmt(h.deliveries / 2)}, ` +
      `${growth === undefined ? 'n/a' : bytes(growth.last)} at ${fmt(h.deliveries)} (highest past ${fmt(2 * h.maxEntries)}: ${growth === undefined ? 'n/a' : bytes(growth.max)}; ` +
      `${growth === undefined ? 'n/a' : `${growth.growth >= 0 ? '+' : ''}${(growth.growth * 100).toFixed(1)}%`} from ${fmt(2 * h.maxEntries)} to ${fmt(h.deliveries)}).`)
  }
  lines.push('')
  if (report.drain !== undefined && report.drain.length > 0) lines.push(renderDrain(report.drain, report.drainSettings))
  if (report.slowHandler !== undefined) lines.push(renderSlowHandler(report.slowHandler))
  if (report.targets.length > 0) {
    lines.push('**Targets**')
    lines.push('')
    lines.push('| target | measured | met |')
    lines.push('| --- | --- | :---: |')
    for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.diagnostic === true ? '–' : t.met ? 'yes' : '**no**'} |`)
    lines.push('')
  }
  lines.push(renderSummary(report))
  return `${lines.join('\n')}\n`
}

/** (e): jobs per second of each worker draining a filled queue, against a bare BullMQ Worker. */
export function renderDrain (rows: readonly DrainRow[], settings: DrainSettings | undefined): string {
  const base = rows.find((r) => r.contender === DRAIN_BASELINE)
  const lines = [
    `**(e) queue mode, draining** (a queue filled with ${settings === undefined ? '?' : fmt(settings.jobs)} distinct callbacks as each receiver stores them, then resumed; ` +
      `a worker process of its own at concurrency ${settings?.concurrency ?? '?'}, timed until its handler ran once per job; ${settings?.rounds ?? '?'} rounds, contenders interleaved, median of the rounds)`,
    '',
    '| contender | jobs/s | × raw BullMQ | worker CPU µs/job | Redis CPU µs/job | handler runs / jobs | rounds, jobs/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |'
  ]
  for (const row of rows) {
    const name = row.contender.startsWith('plugin') ? `**${row.label}**` : row.label
    const mark = row.handlerRuns === row.jobs ? '' : ' ⚠'
    lines.push(`| ${name} | ${fmt(row.jobsPerSecond)} | ${ratio(row.jobsPerSecond, base?.jobsPerSecond)} | ${fmt(row.workerCpuPerJob)} | ${fmt(row.redisCpuPerJob)} | ` +
      `${fmt(row.handlerRuns)} / ${fmt(row.jobs)}${mark} | ${row.rounds.map((r) => fmt(r)).join(', ')} |`)
  }
  lines.push('')
  return `${lines.join('\n')}\n`
}

/**
 * The README's benchmark summary, straight from this run: the table (req/s on (a) and (b) with the ratio
 * to the hand-written route, p99 and server CPU on (a)) and one line each for queue mode and the options.
 */
export function renderSummary (report: Report): string {
  const a = (name: string): RunRow | undefined => rowOf(report.rows, name, 'unique')
  const b = (name: string): RunRow | undefined => rowOf(report.rows, name, 'redeliveries')
  const sync = report.contenders.filter((c) => c.group === 'sync')
  const lines = [`**Summary for the README** (${report.mode} run of ${report.date.slice(0, 16).replace('T', ' ')} UTC, \`${report.command}\`)`, '']
  if (sync.some((c) => a(c.name) !== undefined)) {
    lines.push('| contender | (a) all unique, req/s | (b) 30% redeliveries, req/s | p99 ms (a) | server CPU µs/req (a) |')
    lines.push('| --- | ---: | ---: | ---: | ---: |')
    const order = ['plugin-redis', 'plugin-memory', BASELINE, 'powertools', 'node-idempotency', CEILING]
    for (const c of [...sync].sort((x, y) => order.indexOf(x.name) - order.indexOf(y.name))) {
      const ra = a(c.name)
      if (ra === undefined) continue
      const rb = b(c.name)
      const cell = (row: RunRow | undefined, base: RunRow | undefined): string => row === undefined ? 'n/a' : `${fmt(row.rps)} (${ratio(row.rps, base?.rps)})`
      const name = c.name.startsWith('plugin') ? `**${c.label}**` : c.label
      lines.push(`| ${name} | ${cell(ra, a(BASELINE))} | ${cell(rb, b(BASELINE))} | ${ms(ra.p99)} | ${fmt(ra.serverCpuPerRequest)} |`)
    }
    lines.push('')
  }
  const queue = a('plugin-queue')
  const raw = a(QUEUE_BASELINE)
  const worker = report.drain?.find((d) => d.contender === 'plugin-worker')
  const rawWorker = report.drain?.find((d) => d.contender === DRAIN_BASELINE)
  if (queue !== undefined || worker !== undefined) {
    const parts: string[] = []
    if (queue !== undefined) parts.push(`receiving ${fmt(queue.rps)} 202s/s on (a)${raw === undefined ? '' : `, ${ratio(queue.rps, raw.rps)} raw BullMQ's ${fmt(raw.rps)}`} (server CPU ${fmt(queue.serverCpuPerRequest)}${raw === undefined ? '' : ` vs ${fmt(raw.serverCpuPerRequest)}`} µs/request)`)
    if (worker !== undefined) parts.push(`draining ${fmt(worker.jobsPerSecond)} jobs/s${rawWorker === undefined ? '' : `, ${ratio(worker.jobsPerSecond, rawWorker.jobsPerSecond)} a bare BullMQ Worker's ${fmt(rawWorker.jobsPerSecond)}`} (worker CPU ${fmt(worker.workerCpuPerJob)}${rawWorker === undefined ? '' : ` vs ${fmt(rawWorker.workerCpuPerJob)}`} µs/job)`)
    lines.push(`- Queue mode: ${parts.join('; ')}.`)
  }
  const plugin = a('plugin-redis')
  const options = report.contenders.filter((c) => c.group === 'option' && a(c.name) !== undefined)
  if (plugin !== undefined && options.length > 0) {
    lines.push(`- What an option costs, server CPU per request on (a) beside the default's ${fmt(plugin.serverCpuPerRequest)} µs: ` +
      options.map((c) => {
        const row = a(c.name) as RunRow
        const delta = row.serverCpuPerRequest - plugin.serverCpuPerRequest
        return `${c.name.replace(/^plugin-/, '')} ${delta >= 0 ? '+' : ''}${fmt(delta)} µs (${ratio(row.rps, plugin.rps)} the default's req/s)`
      }).join(', ') + '.')
  }
  lines.push('')
  return `${lines.join('\n')}\n`
}

const COLORS: Readonly<Record<string, string>> = {
  'plugin-redis': '#2563eb',
  'plugin-memory': '#60a5fa',
  bare: '#9ca3af',
  handwritten: '#f59e0b',
  'handwritten-digest': '#fcd34d',
  powertools: '#10b981',
  'node-idempotency': '#a855f7'
}

const escapeXml = (text: string): string => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c)

/** Requests per second, one panel per workload, one bar per contender. */
export function renderSvg (report: Report): string {
  const width = 920
  const labelWidth = 330
  const barArea = width - labelWidth - 150
  const barHeight = 18
  const gap = 6
  const panelTitle = 28
  const parts: string[] = []
  let y = 40
  for (const workload of report.workloads) {
    const rows = report.contenders.flatMap((c) => rowOf(report.rows, c.name, workload.name) ?? [])
    if (rows.length === 0) continue
    const max = Math.max(...rows.map((r) => r.rps), 1)
    parts.push(`<text x="12" y="${y + 18}" font-weight="bold" font-size="14">${escapeXml(workload.label)}</text>`)
    y += panelTitle
    for (const row of rows) {
      const contender = report.contenders.find((c) => c.name === row.contender)
      const w = Math.max(1, Math.round(row.rps / max * barArea))
      parts.push(`<text x="${labelWidth - 8}" y="${y + barHeight - 5}" text-anchor="end" font-size="12">${escapeXml(contender?.label ?? row.contender)}</text>`)
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${w}" height="${barHeight}" rx="2" fill="${COLORS[row.contender] ?? '#64748b'}"/>`)
      parts.push(`<text x="${labelWidth + w + 6}" y="${y + barHeight - 5}" font-size="12">${escapeXml(`${fmt(row.rps)} req/s · p99 ${ms(row.p99)} ms`)}</text>`)
      y += barHeight + gap
    }
    y += 14
  }
  const height = y + 24
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" fill="#111827">`,
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    '<text x="12" y="24" font-size="16" font-weight="bold">super.AI callbacks: requests/s (higher is better)</text>',
    ...parts,
    `<text x="12" y="${height - 8}" font-size="11" fill="#6b7280">${escapeXml(`npm run bench · ${report.mode} run · ${report.date} · Node ${report.machine.node} · Redis ${report.machine.redis} · ${report.machine.cpus} CPUs`)}</text>`,
    '</svg>',
    ''
  ].join('\n')
}
