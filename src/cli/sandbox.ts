import { once } from 'node:events'
import { checkCallbackUrl } from '../client/callback-url.js'
import { createSandbox, SANDBOX_DEFAULTS } from '../sandbox/index.js'
import { EXIT, UsageError, decimal, integerFlag, parse, signingKey } from './args.js'
import type { CliIo } from './io.js'

export const SANDBOX_HELP = `Usage: superai-callbacks sandbox [options]

A local super.AI on 127.0.0.1, with no account: every endpoint super.AI's SDK calls (submit, get, response,
cancel, list, batches, tags, review, the export; the API-KEY header checked) and the callbacks it sends.
Every job walks SCHEDULED -> IN_PROGRESS -> COMPLETED, one state each --step; each callback state, tag
and review is POSTed to the job's callbackUrl (or --callback-url), at least once, retried with a growing
pause and dropped after --give-up-after tries. Prints one line with the base URL and the API key (with
--json, one JSON line { baseUrl, apiKey, port, seed }), then runs until Ctrl-C or SIGTERM.

Options:
      --port P                Port (default: a free one)
      --api-key K             The API key it accepts (default: a random one)
      --callback-url URL      Project-wide callbacks: jobs without a callbackUrl, and job batches (v2)
      --sign-key FILE         Sign every callback as super.AI does, with this private EC key (PEM)
      --duplicates SHARE      Share of callbacks delivered twice, 0 to 1 (default ${SANDBOX_DEFAULTS.duplicates})
      --give-up-after N       Tries of a delivery before it is dropped (default ${SANDBOX_DEFAULTS.giveUpAfter})
      --step MS               Milliseconds between two states of a job (default ${SANDBOX_DEFAULTS.step})
      --post-processing SHARE Share of jobs that post-process after COMPLETED (default 0)
      --failures SHARE        Share of jobs that fail (default 0)
      --retry-delay MS        First pause before a retry, doubling each try (default ${SANDBOX_DEFAULTS.retryDelay})
      --seed X                Seed of the stream, a number or a word (default: random, printed)
      --json                  Print the line as JSON: { "baseUrl", "apiKey", "port", "seed" }
  -h, --help                  Show this help

Example:
  superai-callbacks sandbox --port 4010 --callback-url http://127.0.0.1:3000/superai/callbacks/ --seed 1
  SUPERAI_BASE_URL=http://127.0.0.1:4010/v1 SUPERAI_API_KEY=<printed key> node your-app.js
`

const OPTIONS = {
  port: { type: 'string' },
  'api-key': { type: 'string' },
  'callback-url': { type: 'string' },
  'sign-key': { type: 'string' },
  duplicates: { type: 'string' },
  'give-up-after': { type: 'string' },
  step: { type: 'string' },
  'post-processing': { type: 'string' },
  failures: { type: 'string' },
  'retry-delay': { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

export async function sandbox (args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS)
  if (values.help === true) {
    io.out(SANDBOX_HELP)
    return EXIT.OK
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0] ?? ''}"`)
  const callbackUrl = values['callback-url']
  if (callbackUrl !== undefined) {
    const check = checkCallbackUrl(callbackUrl)
    if (!check.ok) throw new UsageError(`invalid --callback-url "${callbackUrl}": ${check.reason}`)
  }
  const apiKey = values['api-key']
  if (apiKey !== undefined && !/^[\x21-\x7e]{1,256}$/.test(apiKey)) throw new UsageError('--api-key must be 1 to 256 printable ASCII characters')
  const postProcessing = decimal('post-processing', values['post-processing'], 0, 0, 1)
  const failures = decimal('failures', values.failures, 0, 0, 1)
  if (postProcessing + failures > 1) throw new UsageError('--post-processing and --failures are shares of the same jobs: together at most 1')
  const signKey = signingKey(values['sign-key'])
  const seed = values.seed === undefined ? undefined : /^\d{1,15}$/.test(values.seed) ? Number(values.seed) : values.seed

  let running
  try {
    running = await createSandbox({
      port: integerFlag('port', values.port, 0, 0, 65_535),
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(callbackUrl === undefined ? {} : { callbackUrl }),
      ...(signKey === undefined ? {} : { signKey }),
      duplicates: decimal('duplicates', values.duplicates, SANDBOX_DEFAULTS.duplicates, 0, 1),
      giveUpAfter: integerFlag('give-up-after', values['give-up-after'], SANDBOX_DEFAULTS.giveUpAfter, 1, 1000),
      step: integerFlag('step', values.step, SANDBOX_DEFAULTS.step, 0, 3_600_000),
      postProcessing,
      failures,
      retryDelay: integerFlag('retry-delay', values['retry-delay'], SANDBOX_DEFAULTS.retryDelay, 0, 600_000),
      ...(seed === undefined ? {} : { seed })
    })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'FST_SUPERAI_INVALID_OPTION') throw new UsageError((error as Error).message)
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      io.err(`superai-callbacks: cannot listen on 127.0.0.1:${values.port ?? 0}: ${code}\n`)
      return EXIT.FAILED
    }
    throw error
  }
  // one line either way, printed once it listens: a script waits for it, then reads the key
  io.out(values.json === true
    ? `${JSON.stringify({ baseUrl: running.baseUrl, apiKey: running.apiKey, port: running.port, seed: running.seed })}\n`
    : `superai sandbox: ${running.baseUrl} API-KEY ${running.apiKey} (seed ${String(running.seed)})\n`)
  if (!io.signal.aborted) await once(io.signal, 'abort')
  await running.close()
  return EXIT.OK
}
