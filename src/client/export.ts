import { setTimeout as sleep } from 'node:timers/promises'
import { unzipSync } from 'fflate'
import { codes } from '../errors.js'
import { integerOption } from '../validate.js'
import type { SuperaiJobsOperation } from './api-schema.js'
import type { SuperaiRequestOptions } from './options.js'

/**
 * super.AI's export of jobs with their responses (the SDK's `download_jobs_full_flow`): start it, poll its
 * operation until `COMPLETED`, ask for a download URL, read the one JSON file of the zip found there.
 */

export interface ExportJobsOptions extends SuperaiRequestOptions {
  /** Milliseconds between two polls of the operation. Default 3000, the SDK's. */
  readonly pollInterval?: number
  /** Milliseconds the operation may take to complete before the export fails. Default 120000, the SDK's. */
  readonly maxWait?: number
  /** Seconds the download URL stays valid. Default: the API's (60). */
  readonly secondsTtl?: number
}

/** Operation statuses after which it never completes; super.AI documents only `COMPLETED`, so these are guesses kept short. */
const FAILED: ReadonlySet<string> = new Set(['FAILED', 'ERROR', 'CANCELED', 'CANCELLED'])

export function exportSchedule (options: ExportJobsOptions): { readonly pollInterval: number, readonly maxWait: number } {
  return {
    pollInterval: integerOption('pollInterval', options.pollInterval, 3000, 0, 3_600_000),
    maxWait: integerOption('maxWait', options.maxWait, 120_000, 0)
  }
}

/** Polls `get` until the operation is `COMPLETED`; a failed status or `maxWait` passed is `FST_SUPERAI_EXPORT_FAILED`. */
export async function awaitOperation (
  operationId: string, get: () => Promise<SuperaiJobsOperation>, schedule: { readonly pollInterval: number, readonly maxWait: number }, signal?: AbortSignal
): Promise<SuperaiJobsOperation> {
  const deadline = Date.now() + schedule.maxWait
  for (;;) {
    const operation = await get()
    const status = operation.status.toUpperCase()
    if (status === 'COMPLETED') return operation
    if (FAILED.has(status)) throw exportFailed(operationId, operation.status, `its status is ${operation.status}`)
    if (Date.now() + schedule.pollInterval > deadline) {
      throw exportFailed(operationId, operation.status, `still ${operation.status} after ${schedule.maxWait} ms`)
    }
    await sleep(schedule.pollInterval, undefined, signal === undefined ? {} : { signal })
  }
}

function exportFailed (operationId: string, operationStatus: string, reason: string): Error {
  return Object.assign(new codes.FST_SUPERAI_EXPORT_FAILED(operationId, reason), { operationId, operationStatus })
}

/** The parsed JSON of the zip's first file (the export holds one), or why it cannot be read. */
export function readExport (zip: Uint8Array): { readonly ok: true, readonly value: unknown } | { readonly ok: false, readonly reason: string } {
  let files: Record<string, Uint8Array>
  try {
    files = unzipSync(zip)
  } catch (error) {
    return { ok: false, reason: `not a zip (${(error as Error).message})` }
  }
  const [first] = Object.keys(files).filter((name) => !name.endsWith('/'))
  const content = first === undefined ? undefined : files[first]
  if (content === undefined) return { ok: false, reason: 'a zip without a file' }
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(content)) as unknown }
  } catch {
    return { ok: false, reason: `${first ?? ''} in the zip is not JSON` }
  }
}
