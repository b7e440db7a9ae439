import { API_JOB_STATUSES, isJobState, type ApiJobStatus, type BatchState, type JobAction } from '../events.js'
import { normalizeValue } from '../delivery/normalize.js'
import { createRandom, type Random } from './prng.js'
import { checkCallbackUrl } from '../client/callback-url.js'
import { RequestError } from './request-error.js'

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

/** Someone acted on a job (a tag, an edit, a verdict): super.AI calls back with the action and the job's state then. */
export interface JobActed {
  readonly job: SandboxJob
  readonly action: Exclude<JobAction, 'RESOLVED'>
  /** The job's state at that moment, callback spelling. */
  readonly state: string
  readonly random: Random
  readonly postProcessing: boolean
  /** What the action was about, sent in the callback (the tags added or removed). */
  readonly details: Readonly<Record<string, unknown>>
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
  /** The output a review set; served by `GET jobs/{id}/response` from then on. */
  output?: Readonly<Record<string, unknown>>
}

/** Statuses in which a job has not ended: no `completed` date yet. */
const NOT_ENDED: ReadonlySet<string> = new Set(['PENDING', 'SCHEDULED', 'IN_PROGRESS', 'NEEDS_WORK', 'SUSPENDED'])
/** super.AI's SDK (`cancel_job`): "Only for jobs in SCHEDULED, IN_PROGRESS or SUSPENDED state". */
const CANCELABLE: ReadonlySet<string> = new Set(['SCHEDULED', 'IN_PROGRESS', 'SUSPENDED'])
/** Statuses of a job that has an output, which a review may edit or judge. */
const REVIEWABLE: ReadonlySet<string> = new Set(['COMPLETED', 'POST_PROCESSED', 'NEEDS_REVIEW', 'REVIEWED'])
/**
 * Statuses a review moves to REVIEWED ("Review states": a correct or incorrect job is REVIEWED); a
 * POST_PROCESSED job stays so, a final state in "Job states" that a late callback must still find.
 */
const REVIEW_MOVES: ReadonlySet<string> = new Set(['COMPLETED', 'NEEDS_REVIEW'])
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

/** Tags as the API takes them: one string, or an array of strings (the SDK sends one string). */
export function tagList (value: unknown): string[] {
  const tags = typeof value === 'string' ? [value] : value
  if (!Array.isArray(tags) || tags.length === 0 || !tags.every((tag) => typeof tag === 'string' && tag.trim() !== '' && tag.length <= 256)) {
    throw new RequestError(400, 'tags must be a tag or a non-empty array of tags (non-empty strings)')
  }
  return [...new Set(tags as string[])]
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
  readonly #onAction: (acted: JobActed) => void
  #submitted = 0
  #nextId = 1_000_000
  #closed = false
  /** Jobs with a timer set: walking by themselves. */
  #walking = 0
  /** Resolved each time the last walking job stops, for `settled()`. */
  #idleWaiters: Array<() => void> = []

  constructor (
    settings: JobBookSettings, onStateChange: (change: StateChange) => void, onBatch: (batch: BatchIngested) => void, onAction: (acted: JobActed) => void
  ) {
    this.#settings = settings
    this.#random = createRandom(`${String(settings.seed)}/submissions`)
    this.#onStateChange = onStateChange
    this.#onBatch = onBatch
    this.#onAction = onAction
  }

  /**
   * `POST /apps/{app_id}/jobs`, checked: inputs that are not objects are not ingested (a partial or failed
   * batch). `fileInputs` are those of the body's `inputsFileUrl`, fetched by the caller, after `inputs`.
   */
  submit (appId: string, body: unknown, fileInputs: readonly unknown[] = []): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError(400, 'expected a JSON object { inputs, callbackUrl?, metadata? }')
    const { inputs: given, inputsFileUrl, callbackUrl, metadata, labeler, pending, tags: rawTags } = body as Record<string, unknown>
    if (given !== undefined && !Array.isArray(given)) throw new RequestError(400, 'inputs must be a non-empty array of input objects')
    if (inputsFileUrl !== undefined && typeof inputsFileUrl !== 'string') throw new RequestError(400, 'inputsFileUrl must be a URL')
    const inputs = [...(given ?? []) as unknown[], ...fileInputs]
    if (inputs.length === 0) throw new RequestError(400, 'inputs must be a non-empty array of input objects (or inputsFileUrl a JSON file holding one)')
    if (inputs.length > 10_000) throw new RequestError(400, 'at most 10000 inputs in one submission')
    if (callbackUrl !== undefined && callbackUrl !== null && typeof callbackUrl !== 'string') throw new RequestError(400, 'callbackUrl must be a string')
    if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) throw new RequestError(400, 'metadata must be an object')
    if (labeler !== undefined && labeler !== null && typeof labeler !== 'string') throw new RequestError(400, 'labeler must be a string')
    if (pending !== undefined && pending !== null && typeof pending !== 'boolean') throw new RequestError(400, 'pending must be true or false')
    const tags = rawTags === undefined || rawTags === null ? [] : tagList(rawTags)
    if (typeof callbackUrl === 'string') {
      // super.AI's rules: fully qualified, ending with a slash
      const check = checkCallbackUrl(callbackUrl)
      if (!check.ok) throw new RequestError(400, `invalid callbackUrl: ${check.reason}`)
    }

    const batchId = this.#random.uuid()
    const created: SandboxJob[] = []
    const extra = { tags, ...(typeof labeler === 'string' ? { labeler } : {}) }
    for (const input of inputs) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) continue
      created.push(this.#create(appId, batchId, input as Record<string, unknown>, callbackUrl as string | null | undefined, metadata, pending === true, extra))
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

  #create (
    appId: string, batchId: string, input: Record<string, unknown>, callbackUrl: string | null | undefined, metadata: unknown,
    pending: boolean, extra: Readonly<Record<string, unknown>>
  ): SandboxJob {
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
      // a parked job waits in PENDING until `advance` starts it
      status: pending ? 'PENDING' : 'SCHEDULED',
      created: apiDate(),
      callbackUrl: callbackUrl ?? null,
      input,
      metadata: metadata ?? {},
      tags: [],
      correct: null,
      jobType: 'normal',
      batchId,
      ...structuredClone(extra)
    }
    const entry: Entry = { fields, path: pending ? ['SCHEDULED', ...path] : path, timer: undefined, random, postProcessing: path.includes('POST_PROCESSING') }
    this.#store(entry)
    if (!pending) this.#schedule(entry)
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
    const output = this.#output(job)
    if (output === undefined) throw new RequestError(404, `job ${String(job.fields.uuid)} has no response: it is ${String(job.fields.status)}`)
    return { uuid: job.fields.uuid, status: job.fields.status, response: output }
  }

  /** A job's output: the one a review set, else the sandbox's own; none before the job completed, or when it ended without one. */
  #output (entry: Entry): unknown {
    const status = String(entry.fields.status)
    if (NOT_ENDED.has(status) || ['FAILED', 'CANCELED', 'EXPIRED'].includes(status)) return undefined
    return structuredClone(entry.output ?? { input: entry.fields.input, label: 'sandbox' })
  }

  /** The project's jobs the filter selects, each with its output as `response` (when it has one): an export's content. */
  exportable (appId: string, selects: (job: SandboxJob) => boolean): Array<Record<string, unknown>> {
    return [...this.#jobs.values()].filter((entry) => entry.fields.appId === appId && selects(this.#view(entry))).map((entry) => {
      const output = this.#output(entry)
      return { ...this.#view(entry), ...(output === undefined ? {} : { response: output }) }
    })
  }

  /** `PUT apps/{app_id}/jobs/tags?idSearch=`: the tags added to the job, which calls back `TAG ADDED` when one was new. */
  addTags (appId: string, idSearch: string | null, body: unknown): SandboxJob[] {
    if (idSearch === null || idSearch === '') throw new RequestError(400, 'idSearch (the job\'s id or uuid) is required to add tags')
    const tags = tagList(tagsOf(body))
    const entry = this.#entry(idSearch)
    if (entry === undefined || entry.fields.appId !== appId) throw new RequestError(404, `no job of app ${appId} matches idSearch ${idSearch}`)
    const current = Array.isArray(entry.fields.tags) ? entry.fields.tags as string[] : []
    const added = tags.filter((tag) => !current.includes(tag))
    entry.fields.tags = [...current, ...added]
    if (added.length > 0) this.#act(entry, 'TAG ADDED', { tags: added })
    return [this.#view(entry)]
  }

  /** `DELETE apps/{app_id}/jobs/tags`: the tags taken off the jobs selected; each job that lost one calls back `TAG REMOVED`. */
  removeTags (appId: string, selects: (job: SandboxJob) => boolean, idSearch: string | null, body: unknown): SandboxJob[] {
    const tags = tagList(tagsOf(body))
    if (idSearch !== null) {
      const entry = this.#entry(idSearch)
      if (entry === undefined || entry.fields.appId !== appId) throw new RequestError(404, `no job of app ${appId} matches idSearch ${idSearch}`)
    }
    const changed: SandboxJob[] = []
    for (const entry of this.#jobs.values()) {
      if (!selects(this.#view(entry))) continue
      const current = Array.isArray(entry.fields.tags) ? entry.fields.tags as string[] : []
      const removed = current.filter((tag) => tags.includes(tag))
      if (removed.length === 0) continue
      entry.fields.tags = current.filter((tag) => !tags.includes(tag))
      this.#act(entry, 'TAG REMOVED', { tags: removed })
      changed.push(this.#view(entry))
    }
    return changed
  }

  /**
   * `PATCH jobs/{job_id}/review`: a new `response` (an edit: `EDITED`, and served from then on) and/or a
   * verdict `correct` (`ACCEPTED` or `DECLINED`, and the job's `correct`). A job COMPLETED or NEEDS_REVIEW
   * becomes REVIEWED first (its state change calls back), so the actions carry `REVIEWED`. Everything is
   * checked before anything changes.
   */
  review (idOrUuid: string, body: unknown): SandboxJob {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError(400, 'expected a JSON object { response?, correct? }')
    const { response, correct } = body as Record<string, unknown>
    if (response !== undefined && (typeof response !== 'object' || response === null || Array.isArray(response))) throw new RequestError(400, 'response must be an object: the new output')
    if (correct !== undefined && typeof correct !== 'boolean') throw new RequestError(400, 'correct must be true or false')
    if ((response === undefined || Object.keys(response).length === 0) && correct === undefined) {
      throw new RequestError(400, 'a review needs response (a new output) or correct (true or false)')
    }
    const entry = this.#entry(idOrUuid)
    if (entry === undefined) throw new RequestError(404, `job ${idOrUuid} not found`)
    const status = String(entry.fields.status)
    if (!REVIEWABLE.has(status)) throw new RequestError(409, `job ${String(entry.fields.uuid)} is ${status}: only a job with an output (COMPLETED, POST_PROCESSED, NEEDS_REVIEW, REVIEWED) can be reviewed`)
    if (REVIEW_MOVES.has(status)) {
      this.#stop(entry)
      this.#move(entry, 'REVIEWED')
    }
    if (response !== undefined && Object.keys(response).length > 0) {
      entry.output = structuredClone(response as Record<string, unknown>)
      this.#act(entry, 'EDITED', {})
    }
    if (typeof correct === 'boolean') {
      entry.fields.correct = correct
      this.#act(entry, correct ? 'ACCEPTED' : 'DECLINED', {})
    }
    return this.#view(entry)
  }

  #act (entry: Entry, action: JobActed['action'], details: Readonly<Record<string, unknown>>): void {
    this.#onAction({ job: this.#view(entry), action, state: normalizeValue(String(entry.fields.status)), random: entry.random, postProcessing: entry.postProcessing, details })
  }

  /** `GET apps/{app_id}/batches`: the project's batches not yet processed, read as those with a job that has not ended. */
  batches (appId: string): Array<Record<string, unknown>> {
    const open = new Set([...this.#jobs.values()].filter((entry) => entry.fields.appId === appId && NOT_ENDED.has(String(entry.fields.status))).map((entry) => String(entry.fields.batchId)))
    return [...this.#batches.entries()].filter(([key]) => key.startsWith(`${appId}/`) && open.has(key.slice(appId.length + 1))).map(([, batch]) => structuredClone(batch))
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

const tagsOf = (body: unknown): unknown =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).tags : undefined
