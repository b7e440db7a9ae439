import { randomBytes, randomInt, type KeyObject } from 'node:crypto'
import { checkCallbackUrl } from '../client/callback-url.js'
import { ecPrivateKey, type SignatureKey } from '../signature/sign.js'
import { integerOption, invalid, describe, optionNames, plainObject, rejectUnknown } from '../validate.js'

/** `createSandbox(options)`: the flags of `superai-callbacks sandbox`, in camelCase, and a few for tests. */
export interface SandboxOptions {
  /** Port on 127.0.0.1; default 0, a free one (read it from `baseUrl`). */
  readonly port?: number
  /** The `API-KEY` the sandbox accepts; default a random one. */
  readonly apiKey?: string
  /** Project-wide callbacks: every job without a `callbackUrl` of its own calls back here, and job batches too (v2). */
  readonly callbackUrl?: string
  /** A private EC key (PEM, SEC1 or PKCS#8, or a `KeyObject`): every callback is signed as super.AI signs them. */
  readonly signKey?: string | Buffer | KeyObject
  /** Share of callbacks delivered twice, 0 to 1 (half at the same moment, half a little later). Default 0.1. */
  readonly duplicates?: number
  /** Tries of one delivery before it is dropped for good (a missed callback). Default 12. */
  readonly giveUpAfter?: number
  /** Milliseconds between two states of a job. Default 300; 0: jobs move only through `advance()`. */
  readonly step?: number
  /** Seed of the stream (uuids, lifecycles, duplicates): the same seed, the same stream. Default random. */
  readonly seed?: number | string
  /** Share of jobs that post-process after COMPLETED (POST_PROCESSING, then POST_PROCESSED or NEEDS_REVIEW and REVIEWED). Default 0. */
  readonly postProcessing?: number
  /** Share of jobs that fail (FAILED after IN_PROGRESS). Default 0. */
  readonly failures?: number
  /** First pause before retrying a delivery, in ms; it doubles each try, up to 30 s. Default 250. */
  readonly retryDelay?: number
}

export interface ResolvedSandboxOptions {
  readonly port: number
  readonly apiKey: string
  readonly callbackUrl: string | undefined
  readonly signKey: KeyObject | undefined
  readonly duplicates: number
  readonly giveUpAfter: number
  readonly step: number
  readonly seed: number | string
  readonly postProcessing: number
  readonly failures: number
  readonly retryDelay: number
  readonly maxRetryDelay: number
}

export const SANDBOX_DEFAULTS = Object.freeze({
  duplicates: 0.1, giveUpAfter: 12, step: 300, postProcessing: 0, failures: 0, retryDelay: 250, maxRetryDelay: 30_000
} as const)

const NAMES = optionNames<SandboxOptions>({
  port: true,
  apiKey: true,
  callbackUrl: true,
  signKey: true,
  duplicates: true,
  giveUpAfter: true,
  step: true,
  seed: true,
  postProcessing: true,
  failures: true,
  retryDelay: true
})

/** A share from 0 to 1. */
function share (option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw invalid(option, `expected a number from 0 to 1, got ${describe(value)}`)
  return value
}

function privateKey (value: unknown): KeyObject | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' && !Buffer.isBuffer(value) && (typeof value !== 'object' || value === null)) {
    throw invalid('signKey', 'expected a private EC key: a PEM (SEC1 or PKCS#8) or a KeyObject')
  }
  try {
    return ecPrivateKey(value as SignatureKey)
  } catch (error) {
    // its message says what the key is, never the key
    throw invalid('signKey', (error as Error).message)
  }
}

export function resolveSandboxOptions (raw: SandboxOptions = {}): ResolvedSandboxOptions {
  const options = plainObject('options', raw, 'an options object')
  rejectUnknown(options, NAMES)
  const { apiKey, callbackUrl, seed } = options
  if (apiKey !== undefined && (typeof apiKey !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(apiKey))) {
    throw invalid('apiKey', 'expected 1 to 256 printable ASCII characters (it travels in a header)')
  }
  let projectUrl: string | undefined
  if (callbackUrl !== undefined) {
    const check = checkCallbackUrl(callbackUrl as string)
    if (!check.ok) throw invalid('callbackUrl', check.reason)
    projectUrl = check.url
  }
  if (seed !== undefined && !(typeof seed === 'string' && seed !== '') && !(typeof seed === 'number' && Number.isSafeInteger(seed))) {
    throw invalid('seed', `expected an integer or a non-empty string, got ${describe(seed)}`)
  }
  const postProcessing = share('postProcessing', options.postProcessing, SANDBOX_DEFAULTS.postProcessing)
  const failures = share('failures', options.failures, SANDBOX_DEFAULTS.failures)
  if (postProcessing + failures > 1) throw invalid('failures', 'postProcessing and failures are shares of the same jobs: together at most 1')
  return Object.freeze({
    port: integerOption('port', options.port, 0, 0, 65_535),
    apiKey: (apiKey as string | undefined) ?? `sandbox-${randomBytes(18).toString('base64url')}`,
    callbackUrl: projectUrl,
    signKey: privateKey(options.signKey),
    duplicates: share('duplicates', options.duplicates, SANDBOX_DEFAULTS.duplicates),
    giveUpAfter: integerOption('giveUpAfter', options.giveUpAfter, SANDBOX_DEFAULTS.giveUpAfter, 1, 1000),
    step: integerOption('step', options.step, SANDBOX_DEFAULTS.step, 0, 3_600_000),
    seed: (seed as number | string | undefined) ?? randomInt(1, 1_000_000),
    postProcessing,
    failures,
    retryDelay: integerOption('retryDelay', options.retryDelay, SANDBOX_DEFAULTS.retryDelay, 0, 600_000),
    maxRetryDelay: SANDBOX_DEFAULTS.maxRetryDelay
  })
}
