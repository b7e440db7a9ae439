import { CallbackSender, type SandboxAttempt, type SandboxCopy, type SandboxDelivery, type Serialise } from './callbacks.js'
import { SandboxServer, type Intercept, type SandboxReply, type SandboxRequest } from './http.js'
import { randomUUID } from 'node:crypto'
import { JobExports } from './job-export.js'
import { JobBook, apiDate, hasEnded, type SandboxJob } from './jobs.js'
import { SIGNATURE_HEADER, signCallback } from '../signature/sign.js'
import { resolveSandboxOptions, SANDBOX_DEFAULTS, type SandboxOptions } from './options.js'

/**
 * A local super.AI: its documented API on 127.0.0.1 and the callbacks it sends, for trying the whole loop
 * and for tests, with no account. `import { createSandbox } from 'fastify-superai-callbacks/sandbox'`.
 */

export type { SandboxAttempt, SandboxCopy, SandboxDelivery, SandboxJob, SandboxOptions, SandboxReply, SandboxRequest, Intercept }
export { SANDBOX_DEFAULTS, apiDate }

export interface Sandbox {
  /** `http://127.0.0.1:<port>/v1`: a client's `baseUrl`. */
  readonly baseUrl: string
  /** The `API-KEY` it accepts. */
  readonly apiKey: string
  readonly port: number
  /** The seed of its stream (given, or drawn). */
  readonly seed: number | string
  /** Every request it received, in order. */
  readonly requests: readonly SandboxRequest[]
  /** Every callback delivery it started, in order: what was sent, each try's answer, and the outcome. */
  readonly deliveries: readonly SandboxDelivery[]
  /** A copy of a job object, by dashboard id or uuid. */
  job: (idOrUuid: string) => SandboxJob | undefined
  /** Copies of every job, or of one project's. */
  jobs: (appId?: string) => SandboxJob[]
  /**
   * Moves a job to its next state, or to `status` (either spelling: `POST_PROCESSED`, `POST PROCESSED`), and
   * sends the callback of that state as super.AI would. A job sent to a state of your choosing walks no more
   * by itself; a job parked in PENDING (submitted with `pending: true`) starts its walk. Throws for an
   * unknown job or an undocumented status.
   */
  advance: (idOrUuid: string, status?: string) => SandboxJob
  /**
   * Adds a job as given, for a test's set-up: in its state, walking nowhere, announcing nothing. Fields
   * not given get the sandbox's values (a new uuid and id, `status: 'COMPLETED'`, `created` and
   * `completed` now); `undefined` leaves a field out.
   */
  addJob: (fields?: Readonly<Record<string, unknown>>) => SandboxJob
  /** Changes a job's fields without announcing anything (`undefined` removes one). Throws for an unknown job. */
  update: (idOrUuid: string, fields: Readonly<Record<string, unknown>>) => SandboxJob
  /** Adds a batch, answered as given by `GET apps/{appId}/batches/{batchId}` (default `{ uuid, appId, status: 'COMPLETED' }`). */
  addBatch: (appId: string, batchId: string, fields?: Readonly<Record<string, unknown>>) => void
  /**
   * Every request goes through `intercept` first (before the `API-KEY` check): a reply it returns is the
   * answer (a 503, a 429 with `Retry-After`, a slow answer); undefined lets the sandbox answer.
   * `intercept(undefined)` removes it.
   */
  intercept: (handler: Intercept | undefined) => void
  /** Resolves when nothing more happens by itself: no job walks any more, every callback is delivered or dropped. */
  settled: () => Promise<void>
  /** Stops the jobs, drops the deliveries still retrying, closes the server. */
  close: () => Promise<void>
}

/** Starts a sandbox; resolves once it listens. Invalid options throw `FST_SUPERAI_INVALID_OPTION` naming the option. */
export async function createSandbox (options: SandboxOptions = {}): Promise<Sandbox> {
  const settings = resolveSandboxOptions(options)
  const { signKey } = settings
  const serialise: Serialise = signKey === undefined
    ? (body) => ({ payload: JSON.stringify(body), headers: {} })
    : (body) => {
        const signed = signCallback(body, signKey)
        return { payload: signed.body, headers: { [SIGNATURE_HEADER]: signed.headers[SIGNATURE_HEADER] } }
      }
  const sender = new CallbackSender({
    duplicates: settings.duplicates,
    giveUpAfter: settings.giveUpAfter,
    retryDelay: settings.retryDelay,
    maxRetryDelay: settings.maxRetryDelay,
    redeliveryDelay: settings.step === 0 ? settings.retryDelay : settings.step,
    serialise
  })
  const book = new JobBook(settings, ({ job, state, random, postProcessing }) => {
    const url = typeof job.callbackUrl === 'string' ? job.callbackUrl : settings.callbackUrl
    if (url === undefined) return
    sender.send('job', url, {
      id: String(job.id),
      uuid: job.uuid,
      state,
      action: 'RESOLVED',
      postProcessingEnabled: String(postProcessing)
    }, random)
  }, ({ appId, batchId, state, random }) => {
    // batch (v2) callbacks come with project-wide callbacks only
    if (settings.callbackUrl === undefined) return
    sender.send('batch', settings.callbackUrl, { version: '2', entityType: 'batch', entityId: batchId, state, appId }, random)
  }, ({ job, action, state, random, postProcessing, details }) => {
    const url = typeof job.callbackUrl === 'string' ? job.callbackUrl : settings.callbackUrl
    if (url === undefined) return
    sender.send('job', url, { id: String(job.id), uuid: job.uuid, state, action, postProcessingEnabled: String(postProcessing), ...details }, random)
  })
  const server = new SandboxServer(book, new JobExports(settings.step), settings.apiKey)
  let port: number
  try {
    port = await server.listen(settings.port)
  } catch (error) {
    book.close()
    throw error
  }

  const known = (idOrUuid: string, job: SandboxJob | undefined): SandboxJob => {
    if (job === undefined) throw new RangeError(`the sandbox has no job ${idOrUuid}`)
    return job
  }
  let closing: Promise<void> | undefined

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey: settings.apiKey,
    port,
    seed: settings.seed,
    requests: server.requests,
    deliveries: sender.deliveries,
    job: (idOrUuid) => book.get(idOrUuid),
    jobs: (appId) => book.all().filter((job) => appId === undefined || job.appId === appId),
    advance: (idOrUuid, status) => known(idOrUuid, book.advance(idOrUuid, status)),
    addJob (fields = {}) {
      const now = Date.now()
      const status = typeof fields.status === 'string' ? fields.status : 'COMPLETED'
      return book.put({
        id: book.nextId(),
        uuid: randomUUID(),
        status,
        created: apiDate(now - 60_000),
        ...(hasEnded(status) ? { completed: apiDate(now) } : {}),
        callbackUrl: null,
        ...fields
      })
    },
    update: (idOrUuid, fields) => known(idOrUuid, book.update(idOrUuid, fields)),
    addBatch (appId, batchId, fields = { uuid: batchId, appId, status: 'COMPLETED' }) { book.putBatch(appId, batchId, fields) },
    intercept (handler) { server.intercept = handler },
    async settled () {
      // a walking job may start deliveries, and a delivery never starts a walk: jobs first
      await book.idle()
      await sender.settled()
    },
    async close () {
      closing ??= (async () => {
        book.close()
        await sender.close()
        await server.close()
      })()
      await closing
    }
  }
}
