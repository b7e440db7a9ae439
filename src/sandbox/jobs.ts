import { API_JOB_STATUSES, isJobState, type ApiJobStatus, type BatchState } from '../events.js'
import { normalizeValue } from '../delivery/normalize.js'
import { createRandom, type Random } from '../cli/prng.js'
import { checkCallbackUrl } from '../client/callback-url.js'

/**
 * The jobs and batches a sandbox holds, and how a job walks through its states: SCHEDULED -> IN_PROGRESS ->
 * COMPLETED (and, for a share, POST_PROCESSING -> POST_PROCESSED or NEEDS_REVIEW -> REVIEWED, or FAILED),
 * one state each `step`, as super.AI's API reference ("Job states") describes them.
 */

/** A job object as `GET /jobs/{job_id}` answers it ("The job object": `status`, `created`, `completed`...). */
export type SandboxJob = Readonly<Record<string, unknown>> & { readonly uuid: string }

/** A state change of a job that super.AI announces with a callback (COMPLETED and after, FAILED...). */
export interface StateChange {
  readonly job: SandboxJob
  /** The callback spelling (`POST PROCESSED`). */
  readonly state: string
  /** The job's own generator: duplicates of its callbacks are drawn from it, so a seed replays them. */
  readonly random: Random
  /** Whether the job post-processes (the callback's `postProcessingEnabled`). */
  readonly postProcessing: boolean
}

export interface BatchIngested {
  readonly appId: string
  readonly batchId: string
  readonly state: BatchState
  readonly random: Random
}

interface Entry {
  fields: Record<string, unknown>
  /** The states still ahead of the job; empty once it walks no more. */
  path: ApiJobStatus[]
  timer: NodeJS.Timeout | undefined
  readonly random: Random
  readonly postProcessing: boolean
}

/** Statuses in which a job has not ended: no `completed` date yet. */
const NOT_ENDED: ReadonlySet<string> = new Set(['PENDING', 'SCHEDULED', 'IN_PROGRESS', 'NEEDS_WORK', 'SUSPENDED'])
/** super.AI's SDK: "Only for jobs in SCHEDULED, IN_PROGRESS or SUSPENDED state" (and those waiting before them). */
const CANCELABLE = NOT_ENDED
const STATUSES: ReadonlySet<string> = new Set(API_JOB_STATUSES)

/** Whether a job in `status` has ended (and carries `completed`). */
export const hasEnded = (status: string): boolean => !NOT_ENDED.has(status)

/** UTC to the second, as the API and its SDK write dates. */
export const apiDate = (ms: number = Date.now()): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** `post processed`, `POST_PROCESSED` -> `POST_PROCESSED`; undefined for an undocumented status. */
export function apiStatus (value: string): ApiJobStatus | undefined {
  const spelled = normalizeValue(value).replace(/ /g, '_')
  return STATUSES.has(spelled) ? spelled as ApiJobStatus : undefined
}

export interface JobBookSettings {
  readonly step: number
  readonly seed: number | string
  readonly postProcessing: number
  readonly failures: number
}

/** Refused input, answered 400 (or 404) with this message. */
export class RequestError extends Error {
  constructor (readonly status: 400 | 404 | 415 | 413, message: string) {
    super(message)
  }
}

export class JobBook {
  readonly #settings: JobBookSettings
  readonly #random: Random
  readonly #jobs = new Map<string, Entry>()
  /** Dashboard id -> uuid. */
  readonly #ids = new Map<string, string>()
  readonly #batches = new Map<string, Record<string, unknown>>()
  readonly #onStateChange: (change: StateChange) => void
  readonly #onBatch: (batch: BatchIngested) => void
  #submitted = 0
  #nextId = 1_000_000
  #closed = false
  /** Jobs with a timer set: walking by themselves. */
  #walking = 0
  /** Resolved each time the last walking job stops, for `settled()`. */
  #idleWaiters: Array<() => void> = []

  constructor (settings: JobBookSettings, onStateChange: (change: StateChange) => void, onBatch: (batch: BatchIngested) => void) {
    this.#settings = settings
    this.#random = createRandom(`${String(settings.seed)}/submissions`)
    this.#onStateChange = onStateChange
    this.#onBatch = onBatch
  }

  /** `POST /apps/{app_id}/jobs`, checked: inputs that are not objects are not ingested (a partial or failed batch). */
  submit (appId: string, body: unknown): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError(400, 'expected a JSON object { inputs, callbackUrl?, metadata? }')
    const { inputs, inputsFileUrl, callbackUrl, metadata } = body as Record<string, unknown>
    if (inputs === undefined && inputsFileUrl !== undefined) throw new RequestError(400, 'the sandbox does not fetch inputsFileUrl: send the inputs in the request')
    if (!Array.isArray(inputs) || inputs.length === 0) throw new RequestError(400, 'inputs must be a non-empty array of input objects')
    if (inputs.length > 10_000) throw new RequestError(400, 'at most 10000 inputs in one submission')
    if (callbackUrl !== undefined && callbackUrl !== null && typeof callbackUrl !== 'string') throw new RequestError(400, 'callbackUrl must be a string')
    if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) throw new RequestError(400, 'metadata must be an object')
    if (typeof callbackUrl === 'string') {
      // super.AI's rules: fully qualified, ending with a slash
      const check = checkCallbackUrl(callbackUrl)
      if (!check.ok) throw new RequestError(400, `invalid callbackUrl: ${check.reason}`)
    }

    const batchId = this.#random.uuid()
    const created: SandboxJob[] = []
    for (const input of inputs) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) continue
      created.push(this.#create(appId, batchId, input as Record<string, unknown>, callbackUrl as string | null | undefined, metadata))
    }
    const state: BatchState = created.length === inputs.length ? 'COMPLETED' : created.length === 0 ? 'FAILED' : 'PARTIAL_FAILURE'
    this.#batches.set(`${appId}/${batchId}`, {
      uuid: batchId, appId, status: state, created: apiDate(), jobs: created.length, refused: inputs.length - created.length
    })
    const batchRandom = createRandom(`${String(this.#settings.seed)}/batch/${batchId}`)
    this.#onBatch({ appId, batchId, state, random: batchRandom })
    const refused = inputs.length - created.length
    return {
      message: `${created.length} job${created.length === 1 ? '' : 's'} submitted${refused > 0 ? `, ${refused} input${refused === 1 ? '' : 's'} refused (not an object)` : ''}`,
      batchId,
      ...(inputs.length === 1 && created[0] !== undefined ? { uuid: created[0].uuid } : {})
    }
  }

  #create (appId: string, batchId: string, input: Record<string, unknown>, callbackUrl: string | null | undefined, metadata: unknown): SandboxJob {
    const index = this.#submitted++
    const random = createRandom(`${String(this.#settings.seed)}/job/${index}`)
    const uuid = random.uuid()
    const { failures, postProcessing } = this.#settings
    const draw = random.next()
    const path: ApiJobStatus[] = draw < failures
      ? ['IN_PROGRESS', 'FAILED']
      : draw < failures + postProcessing
        ? ['IN_PROGRESS', 'COMPLETED', 'POST_PROCESSING', ...(random.chance(2 / 3) ? ['POST_PROCESSED' as const] : ['NEEDS_REVIEW' as const, 'REVIEWED' as const])]
        : ['IN_PROGRESS', 'COMPLETED']
    const fields: Record<string, unknown> = {
      id: String(this.#nextId++),
      uuid,
      appId,
      status: 'SCHEDULED',
      created: apiDate(),
      callbackUrl: callbackUrl ?? null,
      input,
      metadata: metadata ?? {},
      tags: [],
      correct: null,
      jobType: 'normal',
      batchId
    }
    const entry: Entry = { fields, path, timer: undefined, random, postProcessing: path.includes('POST_PROCESSING') }
    this.#store(entry)
    this.#schedule(entry)
    return this.#view(entry)
  }

  #store (entry: Entry): void {
    const uuid = String(entry.fields.uuid)
    const previous = this.#jobs.get(uuid)
    if (previous !== undefined) this.#stop(previous)
    this.#jobs.set(uuid, entry)
    if (entry.fields.id !== undefined) this.#ids.set(String(entry.fields.id), uuid)
  }

  #schedule (entry: Entry): void {
    if (this.#settings.step === 0 || entry.path.length === 0 || this.#closed) return
    this.#walking++
    entry.timer = setTimeout(() => {
      this.#clearTimer(entry)
      this.#move(entry, entry.path.shift())
      this.#schedule(entry)
      this.#wakeIdle()
    }, this.#settings.step)
  }

  #clearTimer (entry: Entry): void {
    if (entry.timer === undefined) return
    clearTimeout(entry.timer)
    entry.timer = undefined
    this.#walking--
  }

  #stop (entry: Entry): void {
    this.#clearTimer(entry)
    entry.path = []
    this.#wakeIdle()
  }

  #move (entry: Entry, status: ApiJobStatus | undefined): void {
    if (status === undefined) return
    entry.fields.status = status
    if (!NOT_ENDED.has(status) && entry.fields.completed === undefined) entry.fields.completed = apiDate()
    const state = normalizeValue(status)
    if (isJobState(state)) this.#onStateChange({ job: this.#view(entry), state, random: entry.random, postProcessing: entry.postProcessing })
  }

  /** A copy of the job object, so that a caller cannot change the sandbox's. */
  #view (entry: Entry): SandboxJob {
    return structuredClone(entry.fields) as SandboxJob
  }

  #entry (idOrUuid: string): Entry | undefined {
    return this.#jobs.get(idOrUuid) ?? this.#jobs.get(this.#ids.get(idOrUuid) ?? '')
  }

  /** `GET /jobs/{job_id}`: the dashboard id or the uuid. */
  get (idOrUuid: string): SandboxJob | undefined {
    const entry = this.#entry(idOrUuid)
    return entry === undefined ? undefined : this.#view(entry)
  }

  all (): SandboxJob[] {
    return [...this.#jobs.values()].map((entry) => this.#view(entry))
  }

  /** `GET /jobs/{job_id}/response`: the output of a job that completed. */
  response (idOrUuid: string): unknown {
    const job = this.#entry(idOrUuid)
    if (job === undefined) throw new RequestError(404, `job ${idOrUuid} not found`)
    const { status, uuid, input } = job.fields
    if (NOT_ENDED.has(String(status)) || ['FAILED', 'CANCELED', 'EXPIRED'].includes(String(status))) {
      throw new RequestError(404, `job ${String(uuid)} has no response: it is ${String(status)}`)
    }
    return { uuid, status, response: { input, label: 'sandbox' } }
  }

  /** `POST /jobs/{job_id}/cancel`: a job that has not ended is CANCELED (and calls back). */
  cancel (idOrUuid: string): SandboxJob {
    const entry = this.#entry(idOrUuid)
    if (entry === undefined) throw new RequestError(404, `job ${idOrUuid} not found`)
    const status = String(entry.fields.status)
    if (!CANCELABLE.has(status)) throw new RequestError(400, `job ${String(entry.fields.uuid)} is ${status}: only SCHEDULED, IN_PROGRESS or SUSPENDED jobs can be canceled`)
    this.#stop(entry)
    this.#move(entry, 'CANCELED')
    return this.#view(entry)
  }

  /** Moves a job to its next planned state, or to `status`; a job moved to a state of the caller's choosing walks no more by itself. */
  advance (idOrUuid: string, status?: string): SandboxJob | undefined {
    const entry = this.#entry(idOrUuid)
    if (entry === undefined) return undefined
    if (status === undefined) {
      this.#clearTimer(entry)
      this.#move(entry, entry.path.shift())
      this.#schedule(entry)
      this.#wakeIdle()
    } else {
      const next = apiStatus(status)
      if (next === undefined) throw new RangeError(`"${status}" is not a documented job status`)
      this.#stop(entry)
      this.#move(entry, next)
    }
    return this.#view(entry)
  }

  /** A job as given (test set-up): in its state, walking nowhere, announcing nothing. `undefined` drops a field. */
  put (fields: Record<string, unknown>): SandboxJob {
    const copy = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))
    if (typeof copy.uuid !== 'string' || copy.uuid === '') throw new RangeError('a job needs a uuid')
    const random = createRandom(`${String(this.#settings.seed)}/put/${copy.uuid}`)
    const entry: Entry = { fields: copy, path: [], timer: undefined, random, postProcessing: false }
    this.#store(entry)
    return this.#view(entry)
  }

  /** Changes fields of a job without a state change announced; `undefined` drops a field. */
  update (idOrUuid: string, fields: Record<string, unknown>): SandboxJob | undefined {
    const entry = this.#entry(idOrUuid)
    if (entry === undefined) return undefined
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) Reflect.deleteProperty(entry.fields, name)
      else entry.fields[name] = value
    }
    return this.#view(entry)
  }

  nextId (): string {
    return String(this.#nextId++)
  }

  batch (appId: string, batchId: string): Record<string, unknown> | undefined {
    const batch = this.#batches.get(`${appId}/${batchId}`)
    return batch === undefined ? undefined : structuredClone(batch)
  }

  putBatch (appId: string, batchId: string, fields: Record<string, unknown>): void {
    this.#batches.set(`${appId}/${batchId}`, structuredClone(fields))
  }

  /** Resolves once no job walks by itself any more. */
  async idle (): Promise<void> {
    while (this.#walking > 0) await new Promise<void>((resolve) => { this.#idleWaiters.push(resolve) })
  }

  #wakeIdle (): void {
    if (this.#walking > 0) return
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const wake of waiters) wake()
  }

  close (): void {
    this.#closed = true
    for (const entry of this.#jobs.values()) this.#clearTimer(entry)
    this.#wakeIdle()
  }
}
