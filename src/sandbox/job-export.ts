import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { strToU8, zipSync } from 'fflate'
import { RequestError } from './request-error.js'

/**
 * super.AI's export of jobs with their responses (`POST apps/{app_id}/job_responses`, then
 * `operations/{app_id}/{operation_id}`): an operation that is `IN_PROGRESS` for one `step`, then
 * `COMPLETED`; its zip, one JSON file listing the jobs as they were when the export started, is served at
 * an absolute URL that needs no API key, signed with a secret of this sandbox and valid `secondsTtl` seconds.
 */

interface Operation {
  readonly id: number
  readonly appId: string
  readonly created: string
  readonly readyAt: number
  readonly jobs: readonly unknown[]
}

/** The path of a download URL: `/downloads/{app}/{operation}/jobs.zip`, its signature in the query, as presigned URLs carry theirs. */
const DOWNLOAD = /^\/downloads\/([^/]+)\/(\d+)\/jobs\.zip$/

export const isDownloadPath = (pathname: string): boolean => pathname.startsWith('/downloads/')

export class JobExports {
  readonly #secret = randomBytes(32)
  readonly #operations = new Map<string, Operation>()
  readonly #step: number
  #next = 1

  constructor (step: number) {
    this.#step = step
  }

  start (appId: string, jobs: readonly unknown[], created: string): { operationId: number } {
    const id = this.#next++
    this.#operations.set(`${appId}/${id}`, { id, appId, created, readyAt: Date.now() + this.#step, jobs: structuredClone(jobs) })
    return { operationId: id }
  }

  #operation (appId: string, id: string): Operation {
    const operation = this.#operations.get(`${appId}/${id}`)
    if (operation === undefined) throw new RequestError(404, `operation ${id} of app ${appId} not found`)
    return operation
  }

  /** `GET operations/{app_id}/{operation_id}`. */
  get (appId: string, id: string): Record<string, unknown> {
    const operation = this.#operation(appId, id)
    return { id: operation.id, appId, type: 'DOWNLOAD_JOBS', status: statusOf(operation), created: operation.created, jobs: operation.jobs.length }
  }

  /** `POST operations/{app_id}/{operation_id}/download-url?secondsTtl=N`: a 409 before the operation completed. */
  downloadUrl (appId: string, id: string, secondsTtl: number, origin: string): { downloadUrl: string } {
    const operation = this.#operation(appId, id)
    if (statusOf(operation) !== 'COMPLETED') throw new RequestError(409, `operation ${id} is not COMPLETED yet: poll GET operations/${appId}/${id}`)
    const expires = Math.floor(Date.now() / 1000) + secondsTtl
    const path = `/downloads/${encodeURIComponent(appId)}/${operation.id}/jobs.zip`
    return { downloadUrl: `${origin}${path}?${new URLSearchParams({ expires: String(expires), signature: this.#sign(appId, operation.id, expires) }).toString()}` }
  }

  /** The zip at a download URL; a forged or expired URL is a 403, as a presigned URL's host answers it. */
  download (pathname: string, query: URLSearchParams): Buffer {
    const match = DOWNLOAD.exec(pathname)
    const expires = Number(query.get('expires'))
    const signature = query.get('signature') ?? ''
    if (match === null || !Number.isSafeInteger(expires)) throw new RequestError(403, 'not a download URL of this sandbox')
    let appId: string
    try {
      appId = decodeURIComponent(match[1] ?? '')
    } catch {
      throw new RequestError(403, 'not a download URL of this sandbox')
    }
    const id = Number(match[2])
    const expected = Buffer.from(this.#sign(appId, id, expires))
    const given = Buffer.from(signature)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new RequestError(403, 'the download URL\'s signature does not match')
    if (Date.now() / 1000 > expires) throw new RequestError(403, 'the download URL has expired: ask for another one')
    const operation = this.#operation(appId, String(id))
    return Buffer.from(zipSync({ [`${appId}-${id}.json`]: strToU8(JSON.stringify(operation.jobs)) }))
  }

  #sign (appId: string, id: number, expires: number): string {
    return createHmac('sha256', this.#secret).update(`${appId}\n${id}\n${expires}`).digest('base64url')
  }
}

const statusOf = (operation: Operation): string => Date.now() >= operation.readyAt ? 'COMPLETED' : 'IN_PROGRESS'
