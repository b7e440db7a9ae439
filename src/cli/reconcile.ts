import cliProgress from 'cli-progress'
import { DEFAULT_SUPERAI_BASE_URL, createSuperaiClient, type SuperaiJob } from '../client/client.js'
import { completedJobs, forEachBounded, stateChangeOf } from '../reconcile/state-changes.js'
import type { SuperaiEvent } from '../schema.js'
import { isHttpUrl, isNonBlankString } from '../validate.js'
import { DELIVERY_HELP, DELIVERY_OPTIONS, EXIT, UsageError, callbackUrlArgument, deliveryPolicy, integerFlag, parse } from './args.js'
import { deliverCallback, type DeliveryPolicy, type DeliveryResult } from './deliver.js'
import { printJson, type CliIo } from './io.js'
import { table } from './report.js'

export const RECONCILE_HELP = `Usage: superai-callbacks reconcile <url> --api-key KEY --app APP [options]

After an outage: list the jobs of your super.AI projects that completed within --since, and deliver each
one's current state to your receiver as super.AI's callback would (action RESOLVED, "reconciled": true in
the body). A receiver built on fastify-superai-callbacks processes those it never processed (missed) and
answers the others as duplicates. Jobs waiting or in progress, whose state no callback announces, are
skipped.

Options:
      --api-key KEY           super.AI API key (default: the SUPERAI_API_KEY environment variable)
      --app APP               Project (app) uuid, repeatable
      --since DURATION        How far back a completion may lie: 90m, 24h, 7d, or seconds (default 24h)
      --base-url URL          super.AI API base (default ${DEFAULT_SUPERAI_BASE_URL})
      --dry-run               Only list: count what would be delivered, send nothing
      --concurrency C         Deliveries in flight at once (default 8, max 64)
${DELIVERY_HELP}

The summary counts the jobs listed, skipped (no callback announces their state), missed (delivered and
processed as new), queued (a queue-mode receiver's 202: stored for its workers), accepted (another 2xx),
duplicate (already processed) and failed. Exit code: 0 when no delivery or listing failed, 1 when one
did, 2 for a bad command line, 3 for an error in the tool itself, 130 when interrupted.

Example:
  superai-callbacks reconcile https://example.com/superai/callbacks/ --app 2c4a1e3f-... --since 48h
`

const OPTIONS = {
  ...DELIVERY_OPTIONS,
  'api-key': { type: 'string' },
  app: { type: 'string', multiple: true },
  since: { type: 'string' },
  'base-url': { type: 'string' },
  'dry-run': { type: 'boolean' },
  concurrency: { type: 'string' }
} as const

/** What a run did; `--json` prints it. */
interface ReconcileCounts {
  /** Jobs the API listed. */
  listed: number
  /** Listed jobs in a state no callback announces (waiting, in progress) or an undocumented one. */
  skipped: number
  /** Delivered and processed as new: callbacks the receiver had missed. */
  missed: number
  /** Answered 202 `queued: true`: stored by a queue-mode receiver for its workers. */
  queued: number
  /** Answered with another 2xx (not the plugin's documented answers): taken, but what became of it is not said. */
  accepted: number
  /** Answered as already processed. */
  duplicate: number
  /** Deliveries not accepted after the retries, and projects whose listing failed. */
  failed: number
  /** Dry run: state changes that would be delivered. */
  wouldDeliver: number
}

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `90m`, `24h`, `7d`, `3600` or `3600s`, in ms. */
function parseDuration (value: string | undefined): number {
  if (value === undefined) return 24 * 3_600_000
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(value.trim())
  const seconds = match === null ? Number.NaN : Number(match[1]) * (UNITS[match[2] || 's'] ?? Number.NaN)
  if (!(seconds >= 1 && seconds <= 365 * 86_400)) throw new UsageError(`--since must be a duration such as 90m, 24h or 7d (at most 365d), got "${value}"`)
  return Math.round(seconds * 1000)
}

export async function reconcile (args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS)
  if (values.help === true) {
    io.out(RECONCILE_HELP)
    return EXIT.OK
  }
  const url = callbackUrlArgument(positionals)
  const apiKey = values['api-key'] ?? process.env.SUPERAI_API_KEY
  if (!isNonBlankString(apiKey)) throw new UsageError('missing --api-key (or the SUPERAI_API_KEY environment variable)')
  const apps = values.app ?? []
  if (apps.length === 0 || apps.some((app) => app.trim() === '')) throw new UsageError('missing --app: the uuid of a project whose jobs to reconcile')
  const baseUrl = values['base-url'] ?? DEFAULT_SUPERAI_BASE_URL
  if (!isHttpUrl(baseUrl)) throw new UsageError(`--base-url must be an absolute http(s) URL, got "${baseUrl}"`)
  const concurrency = integerFlag('concurrency', values.concurrency, 8, 1, 64)
  const policy = deliveryPolicy(values)
  const until = Date.now()
  const from = until - parseDuration(values.since)
  const dryRun = values['dry-run'] === true
  const json = values.json === true

  const client = createSuperaiClient({ apiKey, baseUrl, timeout: policy.timeout })
  const counts: ReconcileCounts = { listed: 0, skipped: 0, missed: 0, queued: 0, accepted: 0, duplicate: 0, failed: 0, wouldDeliver: 0 }
  const errors: Array<{ app: string, message: string }> = []
  const undocumented = new Set<string>()
  const bar = json || io.progress === undefined ? undefined : startBar(io.progress)
  const started = performance.now()
  try {
    for (const app of apps) {
      if (io.signal.aborted) break
      try {
        // the end rounded up: the API's dates are whole seconds, and a job completed in this one counts
        const jobs = completedJobs(client, app, new Date(from), new Date(Math.ceil(until / 1000) * 1000), io.signal)
        await reconcileProject(jobs, { url, policy, dryRun, concurrency, signal: io.signal }, counts, undocumented, bar)
      } catch (error) {
        if (io.signal.aborted) break
        counts.failed++
        errors.push({ app, message: error instanceof Error ? error.message : String(error) })
      }
    }
  } finally {
    bar?.stop()
  }

  const interrupted = io.signal.aborted
  const ok = counts.failed === 0 && !interrupted
  const window = { since: new Date(from).toISOString(), until: new Date(until).toISOString() }
  if (json) {
    printJson(io, { ok, interrupted, command: 'reconcile', url, apps, ...window, dryRun, summary: counts, errors, undocumentedStatuses: [...undocumented] })
  } else {
    io.out(render(counts, { apps, dryRun, interrupted, elapsedMs: performance.now() - started, ...window }))
    for (const { app, message } of errors) io.err(`superai-callbacks: could not list the jobs of ${app}: ${message}\n`)
    if (undocumented.size > 0) io.err(`skipped jobs in undocumented statuses: ${[...undocumented].join(', ')}\n`)
  }
  if (interrupted) return EXIT.INTERRUPTED
  return ok ? EXIT.OK : EXIT.FAILED
}

interface Run {
  readonly url: string
  readonly policy: DeliveryPolicy
  readonly dryRun: boolean
  readonly concurrency: number
  readonly signal: AbortSignal
}

/** Streams one project's jobs, delivering `concurrency` at a time; a listing error is thrown after the deliveries in flight end. */
async function reconcileProject (jobs: AsyncIterable<SuperaiJob>, run: Run, counts: ReconcileCounts, undocumented: Set<string>,
  bar: cliProgress.SingleBar | undefined): Promise<void> {
  await forEachBounded(jobs, run.concurrency, run.signal, (job) => {
    counts.listed++
    bar?.setTotal(counts.listed)
    const change = stateChangeOf(job)
    if (change.event === undefined || run.dryRun) {
      if (change.event !== undefined) counts.wouldDeliver++
      else {
        counts.skipped++
        if (change.skipped === 'undocumented') undocumented.add(String(job.status))
      }
      bar?.increment()
      return undefined
    }
    return deliver(change.event, run, counts).finally(() => { bar?.increment() })
  })
}

/** Which count each answer goes to: every outcome has one, so no delivery drops out of the summary. */
const COUNTED: { readonly [O in DeliveryResult['outcome']]: keyof ReconcileCounts } = {
  processed: 'missed',
  queued: 'queued',
  duplicate: 'duplicate',
  accepted: 'accepted',
  failed: 'failed'
}

async function deliver (body: SuperaiEvent, run: Run, counts: ReconcileCounts): Promise<void> {
  const result = await deliverCallback(run.url, body, run.policy, run.signal)
  counts[COUNTED[result.outcome]]++
}

function render (counts: ReconcileCounts, run: {
  readonly apps: readonly string[],
  readonly dryRun: boolean,
  readonly interrupted: boolean,
  readonly elapsedMs: number,
  readonly since: string,
  readonly until: string
}): string {
  const title = `reconcile ${run.apps.length === 1 ? 'project' : `${run.apps.length} projects`}${run.dryRun ? ' (dry run)' : ''}${run.interrupted ? ' INTERRUPTED' : ''}`
  const rows: Array<[string, string]> = [
    ['completed between', `${run.since} and ${run.until}`],
    ['jobs listed', String(counts.listed)],
    ['skipped (not announced)', String(counts.skipped)],
    ...(run.dryRun
      ? [['would deliver', String(counts.wouldDeliver)] as [string, string]]
      : [
          ['missed (now processed)', String(counts.missed)],
          ...(counts.queued > 0 ? [['queued (202)', String(counts.queued)] as [string, string]] : []),
          ...(counts.accepted > 0 ? [['accepted (other 2xx)', String(counts.accepted)] as [string, string]] : []),
          ['duplicate', String(counts.duplicate)]
        ] as Array<[string, string]>),
    ['failed', String(counts.failed)],
    ['elapsed', `${(run.elapsedMs / 1000).toFixed(2)} s`]
  ]
  return table(title, rows)
}

function startBar (stream: NodeJS.WritableStream): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar({
    stream,
    format: 'reconcile |{bar}| {value}/{total} jobs listed so far',
    hideCursor: true,
    clearOnComplete: true
  }, cliProgress.Presets.shades_classic)
  bar.start(0, 0)
  return bar
}
