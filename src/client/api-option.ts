import { codes } from '../errors.js'
import { apiKeyOption, baseUrlOption, integerOption, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'
import { createTracedClient, DEFAULT_SUPERAI_BASE_URL, type SuperaiClient } from './client.js'
import type { ApiCallHook } from '../telemetry/telemetry.js'

/** The `api` option: the plugin's (or the worker's) one connection to super.AI's API, `app.superai.api`. */
export interface SuperaiApiOptions {
  /** super.AI API key, sent as `API-KEY`; never logged. */
  readonly apiKey: string
  /** Default `https://api.super.ai/v1` (e.g. `https://api.prod-eu.super.ai/v1`). */
  readonly baseUrl?: string
  /** Milliseconds one attempt of a call may take, body included. Default 30000. */
  readonly timeout?: number
}

/** The `api` option validated: what `verify` and `reconcile` fall back to, and what the client is built from. */
export interface ResolvedApiOptions {
  readonly apiKey: string
  readonly baseUrl: string
  readonly timeout: number
}

/** The client's own per-attempt default, so `api` and `createSuperaiClient` behave alike. */
export const API_TIMEOUT_MS = 30_000

const API_OPTIONS = optionNames<SuperaiApiOptions>({ apiKey: true, baseUrl: true, timeout: true })

/** Validates `api` through the one options path; undefined without the option. */
export function resolveApiOptions (raw: unknown): ResolvedApiOptions | undefined {
  if (raw === undefined) return undefined
  const { apiKey, baseUrl, timeout } = plainObject('api', raw, '{ apiKey, baseUrl?, timeout? }')
  rejectUnknown(raw as object, API_OPTIONS, 'api.')
  return Object.freeze({
    apiKey: apiKeyOption('api.apiKey', apiKey),
    baseUrl: baseUrlOption('api.baseUrl', baseUrl, DEFAULT_SUPERAI_BASE_URL),
    timeout: integerOption('api.timeout', timeout, API_TIMEOUT_MS, 1, 10 * 60_000)
  })
}

/** Where a key of `verify` or `reconcile` comes from: its own, else `api`'s; each of key and base URL on its own. */
export interface ApiCredentials {
  readonly apiKey: string
  readonly baseUrl: string | undefined
}

/**
 * A purpose's key and base URL (`verify`, `reconcile`): its own `apiKey` or `baseUrl` wins, each on its
 * own, and what it leaves out comes from `api`. Neither key: the coded error naming `<option>.apiKey`.
 */
export function credentialsFor (option: string, apiKey: unknown, baseUrl: unknown, api: ResolvedApiOptions | undefined): ApiCredentials {
  if (apiKey === undefined && api === undefined) {
    throw invalid(`${option}.apiKey`, 'expected an API key here or in the plugin\'s "api" option ({ apiKey })')
  }
  return {
    apiKey: apiKey === undefined && api !== undefined ? api.apiKey : apiKeyOption(`${option}.apiKey`, apiKey),
    baseUrl: baseUrlOption(`${option}.baseUrl`, baseUrl, api?.baseUrl)
  }
}

/**
 * `app.superai.api`: the typed client of `createSuperaiClient` built from `api`; without the option, one
 * whose every call rejects with `FST_SUPERAI_API_NOT_CONFIGURED`, so the decorator's type needs no
 * `undefined` check in every route and the mistake still reads plainly.
 */
export function openApiClient (api: ResolvedApiOptions | undefined, apiCall?: ApiCallHook): SuperaiClient {
  return api === undefined ? unconfiguredClient() : createTracedClient(api, apiCall)
}

function unconfiguredClient (): SuperaiClient {
  const refuse = async (name: string): Promise<never> => { throw new codes.FST_SUPERAI_API_NOT_CONFIGURED(`app.superai.api.${name}()`) }
  return Object.freeze({
    baseUrl: DEFAULT_SUPERAI_BASE_URL,
    submitJobs: async () => await refuse('submitJobs'),
    getJob: async () => await refuse('getJob'),
    getJobResponse: async () => await refuse('getJobResponse'),
    cancelJob: async () => await refuse('cancelJob'),
    getBatch: async () => await refuse('getBatch'),
    listJobs: async () => await refuse('listJobs'),
    listBatches: async () => await refuse('listBatches'),
    addTags: async () => await refuse('addTags'),
    removeTags: async () => await refuse('removeTags'),
    reviewJob: async () => await refuse('reviewJob'),
    downloadJobs: async () => await refuse('downloadJobs'),
    getJobsOperation: async () => await refuse('getJobsOperation'),
    createDownloadUrl: async () => await refuse('createDownloadUrl'),
    exportJobs: async () => await refuse('exportJobs'),
    // an async generator: the refusal comes with the first `next()`, as a real page's failure would
    jobs: async function * () { yield await refuse('jobs') }
  })
}
