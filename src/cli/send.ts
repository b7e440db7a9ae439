import { randomInt, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { DELIVERY_HELP, DELIVERY_OPTIONS, EXIT, UsageError, callbackUrlArgument, deliveryPolicy, integerFlag, parse } from './args.js'
import { deliverCallback, type DeliveryResult } from './deliver.js'
import { printJson, type CliIo } from './io.js'
import { Tally, renderSummary, succeeded } from './report.js'
import { JOB_ACTIONS, JOB_STATES } from '../events.js'

export const SEND_HELP = `Usage: superai-callbacks send <url> [options]

Send one callback to your receiver, --repeat times, the way super.AI's at-least-once delivery does:
the first should be processed (or queued, by a receiver in queue mode), the repeats reported as
duplicates. A job callback by default; with --batch, a v2 callback about a job batch.

Options:
      --state STATE           Job state (default COMPLETED; one of ${JOB_STATES.join(', ')},
                              or any other value to see how your receiver treats it)
      --action ACTION         What triggered it (default RESOLVED; one of ${JOB_ACTIONS.join(', ')})
      --uuid UUID             Job uuid (default: a random one; sent as given)
      --id ID                 Dashboard job id (default: a random number, as a string)
      --post-processing BOOL  postProcessingEnabled, "true" or "false" (default "false")
      --batch STATE           Send a v2 batch callback instead, in this state (COMPLETED, FAILED,
                              PARTIAL_FAILURE, or any other value); excludes the job options above
      --entity-id ID          The batch uuid (default: a random one)
      --entity-type TYPE      The entity type (default batch)
      --app APP_ID            The project (app) uuid the batch belongs to (default: a random one)
      --file FILE             A JSON object to send; the options above override its fields
      --repeat N              Deliveries of the same callback (default 1, max 1000)
      --concurrent            Send the repeats at the same moment instead of one after another
${DELIVERY_HELP}

Examples:
  superai-callbacks send http://127.0.0.1:3000/superai/callbacks/ --state COMPLETED --repeat 3
  superai-callbacks send http://127.0.0.1:3000/superai/callbacks/ --batch PARTIAL_FAILURE --app <project uuid>
`

const OPTIONS = {
  ...DELIVERY_OPTIONS,
  state: { type: 'string' },
  action: { type: 'string' },
  uuid: { type: 'string' },
  id: { type: 'string' },
  'post-processing': { type: 'string' },
  batch: { type: 'string' },
  'entity-id': { type: 'string' },
  'entity-type': { type: 'string' },
  app: { type: 'string' },
  file: { type: 'string' },
  repeat: { type: 'string' },
  concurrent: { type: 'boolean' }
} as const

export async function send (args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS)
  if (values.help === true) {
    io.out(SEND_HELP)
    return EXIT.OK
  }
  const url = callbackUrlArgument(positionals)
  const repeat = integerFlag('repeat', values.repeat, 1, 1, 1000)
  const policy = deliveryPolicy(values)
  const base = values.file === undefined ? {} : await readBody(values.file)
  const body = values.batch === undefined ? jobBody(values, base) : batchBody(values, base)

  const tally = new Tally(1)
  const results: DeliveryResult[] = []
  const deliverOnce = async (): Promise<void> => {
    const result = await deliverCallback(url, body, policy, io.signal)
    tally.record(0, result)
    results.push(result)
    if (values.json !== true) io.out(describeDelivery(results.length, result))
  }
  if (values.json !== true) io.out(`POST ${url}\n  ${JSON.stringify(body)}\n`)
  if (values.concurrent === true) {
    await Promise.all(Array.from({ length: repeat }, deliverOnce))
  } else {
    for (let n = 0; n < repeat && !io.signal.aborted; n++) await deliverOnce()
  }

  const summary = tally.summary()
  const ok = succeeded(summary) && results.length === repeat
  if (values.json === true) {
    printJson(io, { ok, command: 'send', url, callback: body, deliveries: results, summary })
  } else {
    io.out(renderSummary(summary, `send ×${repeat}`))
  }
  if (io.signal.aborted) return EXIT.INTERRUPTED
  return ok ? EXIT.OK : EXIT.FAILED
}

/** One line per delivery: status, outcome, latency, and the retries it took. */
export function describeDelivery (n: number, result: DeliveryResult): string {
  const last = result.attempts[result.attempts.length - 1]
  const latency = `${(last?.latencyMs ?? 0).toFixed(1)} ms`
  const retried = result.attempts.slice(0, -1).map((attempt) => attempt.status === 0 ? 'no answer' : String(attempt.status))
  const retries = retried.length === 0 ? '' : `  after ${retried.length} ${retried.length === 1 ? 'retry' : 'retries'} (${retried.join(', ')})`
  const error = result.error === undefined ? '' : `  ${result.error}`
  return `  #${n}  ${result.status === 0 ? '---' : result.status}  ${result.outcome.padEnd(9)}  ${latency}${retries}${error}\n`
}

interface SendValues {
  readonly state?: string | undefined
  readonly action?: string | undefined
  readonly uuid?: string | undefined
  readonly id?: string | undefined
  readonly 'post-processing'?: string | undefined
  readonly batch?: string | undefined
  readonly 'entity-id'?: string | undefined
  readonly 'entity-type'?: string | undefined
  readonly app?: string | undefined
}

const JOB_ONLY = ['state', 'action', 'uuid', 'id', 'post-processing'] as const
const BATCH_ONLY = ['entity-id', 'entity-type', 'app'] as const

function jobBody (values: SendValues, base: FileBody): Record<string, unknown> {
  const stray = BATCH_ONLY.find((name) => values[name] !== undefined)
  if (stray !== undefined) throw new UsageError(`--${stray} needs --batch`)
  return {
    ...base,
    id: values.id ?? base.id ?? String(randomInt(1_000_000, 10_000_000)),
    uuid: values.uuid ?? base.uuid ?? randomUUID(),
    state: nonEmpty('state', values.state) ?? base.state ?? 'COMPLETED',
    action: nonEmpty('action', values.action) ?? base.action ?? 'RESOLVED',
    postProcessingEnabled: flag(values['post-processing']) ?? base.postProcessingEnabled ?? 'false'
  }
}

/** A v2 callback as super.AI sends it when a job batch has been ingested. */
function batchBody (values: SendValues, base: FileBody): Record<string, unknown> {
  const stray = JOB_ONLY.find((name) => values[name] !== undefined)
  if (stray !== undefined) throw new UsageError(`--${stray} is for job callbacks; --batch sends a batch callback`)
  return {
    ...base,
    version: '2',
    entityType: nonEmpty('entity-type', values['entity-type']) ?? base.entityType ?? 'batch',
    entityId: nonEmpty('entity-id', values['entity-id']) ?? base.entityId ?? randomUUID(),
    state: nonEmpty('batch', values.batch),
    appId: nonEmpty('app', values.app) ?? base.appId ?? randomUUID()
  }
}

interface FileBody {
  readonly id?: unknown
  readonly uuid?: unknown
  readonly state?: unknown
  readonly action?: unknown
  readonly postProcessingEnabled?: unknown
  readonly [extra: string]: unknown
}

async function readBody (file: string): Promise<FileBody> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new UsageError(`--file ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`--file ${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--file ${file} must hold a JSON object`)
  }
  return parsed as FileBody
}

function nonEmpty (name: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`--${name} must not be empty`)
  return value
}

function flag (value: string | undefined): 'true' | 'false' | undefined {
  if (value === undefined || value === 'true' || value === 'false') return value
  throw new UsageError(`--post-processing must be "true" or "false", got "${value}"`)
}
