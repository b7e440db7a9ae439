import { randomInt, randomUUID } from 'node:crypto'
import { checkCallbackUrl } from '../client/callback-url.js'
import { DELIVERY_HELP, DELIVERY_OPTIONS, EXIT, UsageError, deliveryPolicy, parse } from './args.js'
import { deliverCallback } from './deliver.js'
import { printJson, type CliIo } from './io.js'
import { describeDelivery } from './send.js'

export const CHECK_URL_HELP = `Usage: superai-callbacks check-url <url> [--probe] [options]

Check a callback URL against super.AI's rules: fully qualified http:// or https://, a path ending in "/",
no credentials, no fragment. Prints the normalised URL, or what is wrong (exit code 1).

Options:
      --probe                 Also POST one test callback to it (a random job uuid, state COMPLETED,
                              action RESOLVED, and "probe": true) and report the answer.
                              Your handlers will run for it: do not probe a production receiver.
${DELIVERY_HELP}
`

const OPTIONS = { ...DELIVERY_OPTIONS, probe: { type: 'boolean' } } as const

export async function checkUrl (args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS)
  if (values.help === true) {
    io.out(CHECK_URL_HELP)
    return EXIT.OK
  }
  const [input, ...rest] = positionals
  if (input === undefined) throw new UsageError('missing <url>: the callback URL to check')
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0] ?? ''}"`)
  const policy = deliveryPolicy(values)
  const check = checkCallbackUrl(input)
  const json = values.json === true

  if (!check.ok) {
    if (json) printJson(io, { ok: false, command: 'check-url', input, valid: false, reason: check.reason })
    else io.out(`✗ ${input}\n  not a valid callback URL: ${check.reason}\n`)
    return EXIT.FAILED
  }
  if (values.probe !== true) {
    if (json) printJson(io, { ok: true, command: 'check-url', input, valid: true, url: check.url })
    else io.out(`✓ ${check.url}\n  a valid super.AI callback URL\n`)
    return EXIT.OK
  }

  const body = {
    id: String(randomInt(1_000_000, 10_000_000)),
    uuid: randomUUID(),
    state: 'COMPLETED',
    action: 'RESOLVED',
    postProcessingEnabled: 'false',
    probe: true
  }
  const result = await deliverCallback(check.url, body, policy, io.signal)
  const accepted = result.outcome !== 'failed'
  if (json) {
    printJson(io, { ok: accepted, command: 'check-url', input, valid: true, url: check.url, probe: { callback: body, ...result } })
  } else {
    io.out(`✓ ${check.url}\n  a valid super.AI callback URL\n  probe: POST ${JSON.stringify(body)}\n`)
    io.out(describeDelivery(1, result))
    io.out(accepted ? '  the receiver accepted the callback\n' : '  the receiver did not accept the callback\n')
  }
  return accepted ? EXIT.OK : EXIT.FAILED
}
