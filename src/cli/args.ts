import { readFileSync } from 'node:fs'
import type { KeyObject } from 'node:crypto'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ecPrivateKey } from '../signature/sign.js'
import { checkCallbackUrl } from '../client/callback-url.js'
import { DEFAULT_POLICY, type DeliveryPolicy } from './deliver.js'

/** Exit codes scripts can rely on. */
export const EXIT = Object.freeze({
  /** Everything was delivered and accepted (check-url: the URL is valid, and the probe was accepted). */
  OK: 0,
  /** Some delivery was not accepted, the receiver processed a callback twice, or check-url found the URL invalid. */
  FAILED: 1,
  /** Bad command line: unknown command or option, missing or malformed value. Nothing was sent. */
  USAGE: 2,
  /** An unexpected error in the tool itself (a bug: please report it). */
  INTERNAL: 3,
  /** Interrupted (Ctrl-C) before the end; the summary covers what was sent. */
  INTERRUPTED: 130
})

/** A command line we cannot run; reported with the command's usage and exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

type Options = NonNullable<ParseArgsConfig['options']>

/** Options every sending command takes. */
export const DELIVERY_OPTIONS = {
  header: { type: 'string', short: 'H', multiple: true },
  retries: { type: 'string' },
  'max-wait': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  'sign-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies Options

export const DELIVERY_HELP = `
Delivery options:
  -H, --header "Name: value"  Extra request header, repeatable (e.g. your receiver's auth token)
      --retries N             Retries after 409, 429, 5xx or no answer (default ${DEFAULT_POLICY.retries}, max 100)
      --max-wait SECONDS      Longest wait before a retry; Retry-After is honoured up to it (default ${DEFAULT_POLICY.maxWait / 1000})
      --timeout MS            Per-request timeout (default ${DEFAULT_POLICY.timeout})
      --sign-key FILE         Sign every delivery as super.AI does (X-SuperAI-Webhook-Signature, ECDSA
                              P-256 SHA-256 over the sorted JSON) with this EC private key (PEM, SEC1 or PKCS#8)
      --json                  Print one JSON document on stdout instead of text
  -h, --help                  Show this help`

type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[], options: O, allowPositionals: true, strict: true }>>

/** util.parseArgs, with its errors turned into usage errors. */
export function parse<O extends Options> (args: readonly string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error))
  }
}

/** The one positional `<url>`, checked against super.AI's callback URL rules. */
export function callbackUrlArgument (positionals: readonly string[]): string {
  const [url, ...rest] = positionals
  if (url === undefined) throw new UsageError('missing <url>: the callback URL of your receiver')
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0] ?? ''}"`)
  const check = checkCallbackUrl(url)
  if (!check.ok) throw new UsageError(`invalid callback URL "${url}": ${check.reason}`)
  return check.url
}

/** An integer within bounds, from an option's text. */
export function integerFlag (name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  const parsed = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`)
  }
  return parsed
}

/** A number within bounds, from an option's text. */
export function decimal (name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  const parsed = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN
  if (Number.isNaN(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${value}"`)
  }
  return parsed
}

/** `--rate 50` or `--rate 50/s`: deliveries per second; undefined means as fast as the concurrency allows. */
export function rate (value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  return decimal('rate', value.replace(/\/s$/i, ''), 0, 0.01, 100_000)
}

/** `Name: value` headers; a malformed one is a usage error rather than a silently dropped header. */
export function headers (values: readonly string[] | undefined): Record<string, string> {
  const result: Record<string, string> = {}
  for (const value of values ?? []) {
    const colon = value.indexOf(':')
    const name = colon > 0 ? value.slice(0, colon).trim() : ''
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`--header must look like "Name: value", got "${value}"`)
    result[name.toLowerCase()] = value.slice(colon + 1).trim()
  }
  return result
}

interface DeliveryValues {
  readonly header?: readonly string[] | undefined
  readonly retries?: string | undefined
  readonly 'max-wait'?: string | undefined
  readonly timeout?: string | undefined
  readonly 'sign-key'?: string | undefined
}

/** The EC private key of `--sign-key`, read once; a file that is missing or not such a key is a usage error (the key never quoted). */
export function signingKey (file: string | undefined): KeyObject | undefined {
  if (file === undefined) return undefined
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (error) {
    throw new UsageError(`--sign-key: cannot read "${file}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  try {
    return ecPrivateKey(pem)
  } catch (error) {
    throw new UsageError(`--sign-key ${file}: ${(error as Error).message}`)
  }
}

export function deliveryPolicy (values: DeliveryValues): DeliveryPolicy {
  return {
    retries: integerFlag('retries', values.retries, DEFAULT_POLICY.retries, 0, 100),
    maxWait: Math.round(decimal('max-wait', values['max-wait'], DEFAULT_POLICY.maxWait / 1000, 0, 3600) * 1000),
    retryDelay: DEFAULT_POLICY.retryDelay,
    timeout: integerFlag('timeout', values.timeout, DEFAULT_POLICY.timeout, 1, 600_000),
    headers: headers(values.header),
    signKey: signingKey(values['sign-key'])
  }
}
