import { randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import cliProgress from 'cli-progress'
import { DELIVERY_HELP, DELIVERY_OPTIONS, EXIT, callbackUrlArgument, decimal, deliveryPolicy, integerFlag, parse, rate } from './args.js'
import { deliverCallback, type DeliveryPolicy } from './deliver.js'
import { printJson, type CliIo } from './io.js'
import { planSimulation, type SimulationPlan } from './plan.js'
import { Tally, renderSummary, succeeded, type Summary } from './report.js'

export const SIMULATE_HELP = `Usage: superai-callbacks simulate <url> [options]

Send a realistic stream of callbacks to your receiver: each job walks through plausible states and
actions (completed, post-processed, reviewed, failed, edited, tagged...), and a share of the callbacks
is delivered again: at the same moment (concurrently), shortly after, or late. The same --seed replays
the same stream (same uuids too: against a store that remembers them, a rerun reports duplicates).

Options:
      --jobs N                Jobs to simulate (default 100, max 100000)
      --batches N             Job batches whose v2 callback ("version": "2", entityType "batch") is mixed
                              in, redelivered like the rest (default 0, max 100000)
      --duplicates SHARE      Share of callbacks delivered more than once, 0 to 1 (default 0.3)
      --concurrency C         Deliveries in flight at once (default 8, max 256)
      --rate R[/s]            At most R deliveries per second (default: no limit)
      --seed X                Seed of the stream, a number or a word (default: random, printed)
${DELIVERY_HELP}

The summary counts deliveries processed, queued (202, a receiver in queue mode), reported as duplicates,
409s (in flight elsewhere, retried), other answers by status, and "processed twice": callbacks the receiver
took as new (processed or queued) more than once.

Example:
  superai-callbacks simulate http://127.0.0.1:3000/superai/callbacks/ --jobs 200 --duplicates 0.3 --seed 1
`

const OPTIONS = {
  ...DELIVERY_OPTIONS,
  jobs: { type: 'string' },
  batches: { type: 'string' },
  duplicates: { type: 'string' },
  concurrency: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' }
} as const

interface Settings {
  readonly url: string
  readonly concurrency: number
  readonly rate: number | undefined
  readonly policy: DeliveryPolicy
}

export async function simulate (args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS)
  if (values.help === true) {
    io.out(SIMULATE_HELP)
    return EXIT.OK
  }
  const url = callbackUrlArgument(positionals)
  const jobs = integerFlag('jobs', values.jobs, 100, 1, 100_000)
  const batches = integerFlag('batches', values.batches, 0, 0, 100_000)
  const duplicates = decimal('duplicates', values.duplicates, 0.3, 0, 1)
  const settings: Settings = {
    url,
    concurrency: integerFlag('concurrency', values.concurrency, 8, 1, 256),
    rate: rate(values.rate),
    policy: deliveryPolicy(values)
  }
  const seed = values.seed ?? String(randomInt(1, 1_000_000))
  const plan = planSimulation({ jobs, batches, duplicates, seed: /^\d+$/.test(seed) ? Number(seed) : seed })

  const progress = values.json === true ? undefined : io.progress
  const summary = await run(plan, settings, io.signal, progress)
  const interrupted = io.signal.aborted
  const ok = succeeded(summary) && !interrupted

  if (values.json === true) {
    printJson(io, { ok, interrupted, command: 'simulate', url, seed, jobs, batches, duplicates, plannedDeliveries: plan.deliveries, summary })
  } else {
    const title = `simulate ${jobs} jobs${batches > 0 ? ` + ${batches} batches` : ''} → ${url} (seed ${seed})${interrupted ? ' INTERRUPTED' : ''}`
    io.out(renderSummary(summary, title))
    if (summary.processedMoreThanOnce > 0) io.err(`${summary.processedMoreThanOnce} callbacks were taken as new (processed or queued) more than once: the receiver is not idempotent\n`)
  }
  if (interrupted) return EXIT.INTERRUPTED
  return ok ? EXIT.OK : EXIT.FAILED
}

/** Sends the plan's items in order, `concurrency` at a time, at most `rate` deliveries a second. */
async function run (plan: SimulationPlan, settings: Settings, signal: AbortSignal, terminal?: NodeJS.WritableStream): Promise<Summary> {
  const tally = new Tally(plan.callbacks.length)
  const bar = terminal === undefined ? undefined : startBar(terminal, plan.deliveries)
  const pace = pacer(settings.rate, signal)
  let next = 0

  const worker = async (): Promise<void> => {
    for (let item = plan.items[next++]; item !== undefined && !signal.aborted; item = plan.items[next++]) {
      const { callback, copies } = item
      const body = plan.callbacks[callback]?.body
      await pace(copies)
      if (signal.aborted) break
      // Copies of a concurrent duplicate leave together, as two deliveries racing each other would.
      const results = await Promise.all(Array.from({ length: copies }, async () => await deliverCallback(settings.url, body, settings.policy, signal)))
      for (const result of results) {
        tally.record(callback, result)
        bar?.increment(1, { outcome: result.outcome })
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, plan.items.length) }, worker))
  } finally {
    bar?.stop()
  }
  return tally.summary()
}

/** Spaces deliveries `1/rate` s apart across all workers; a no-op without a rate. */
function pacer (perSecond: number | undefined, signal: AbortSignal): (deliveries: number) => Promise<void> {
  if (perSecond === undefined) return async () => {}
  let nextAt = performance.now()
  return async (deliveries) => {
    const now = performance.now()
    const start = Math.max(now, nextAt)
    nextAt = start + (deliveries * 1000) / perSecond
    if (start > now) await sleep(start - now, undefined, { signal }).catch(() => {})
  }
}

function startBar (stream: NodeJS.WritableStream, total: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar({
    stream,
    format: 'simulate |{bar}| {value}/{total} deliveries | {percentage}% | ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: true
  }, cliProgress.Presets.shades_classic)
  bar.start(total, 0, { outcome: '' })
  return bar
}
