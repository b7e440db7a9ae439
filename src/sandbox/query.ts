import { RequestError } from './request-error.js'
import type { SandboxJob } from './jobs.js'

/**
 * The filters of the job list and of the export, read from the query as super.AI's SDK sends them: dates
 * UTC `YYYY-MM-DDTHH:MM:SSZ`, a repeated name (`statusIn`, `tags`) one value each, booleans as Python
 * writes them (`True`/`False`) or as JSON does.
 */

const SDK_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const DATES = ['createdStartDate', 'createdEndDate', 'completedStartDate', 'completedEndDate'] as const

/** `True`, `true`, `False`, `false`; undefined when absent; a 400 otherwise. */
export function queryBoolean (query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name)
  if (value === null) return undefined
  if (value === 'True' || value === 'true') return true
  if (value === 'False' || value === 'false') return false
  throw new RequestError(400, `${name} must be true or false (True or False), got "${value.slice(0, 40)}"`)
}

export function queryWhole (query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const value = query.get(name)
  if (value === null) return fallback
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) throw new RequestError(400, `${name} must be an integer from ${min} to ${max}, got "${value.slice(0, 40)}"`)
  return parsed
}

type Filter = 'dates' | 'statusIn' | 'tags' | 'correct' | 'batchId' | 'idSearch'

/** A predicate for the project's jobs the query selects, reading only the `filters` named; a bad value is a 400. */
export function jobFilter (appId: string, query: URLSearchParams, filters: readonly Filter[]): (job: SandboxJob) => boolean {
  const uses = new Set(filters)
  const bounds = Object.fromEntries(DATES.map((name) => {
    const value = uses.has('dates') ? query.get(name) : null
    if (value !== null && (!SDK_DATE.test(value) || Number.isNaN(Date.parse(value)))) throw new RequestError(400, `${name} must be YYYY-MM-DDTHH:MM:SSZ (UTC)`)
    return [name, value === null ? undefined : Date.parse(value)]
  })) as Record<typeof DATES[number], number | undefined>
  const statuses = uses.has('statusIn') ? query.getAll('statusIn') : []
  const tags = uses.has('tags') ? query.getAll('tags') : []
  const correct = uses.has('correct') ? queryBoolean(query, 'correct') : undefined
  const batchId = uses.has('batchId') ? query.get('batchId') : null
  const idSearch = uses.has('idSearch') ? query.get('idSearch') : null

  const within = (value: unknown, start: number | undefined, end: number | undefined): boolean => {
    if (start === undefined && end === undefined) return true
    if (typeof value !== 'string') return false
    const at = Date.parse(value)
    return (start === undefined || at >= start) && (end === undefined || at <= end)
  }
  return (job) =>
    job.appId === appId &&
    within(job.created, bounds.createdStartDate, bounds.createdEndDate) &&
    within(job.completed, bounds.completedStartDate, bounds.completedEndDate) &&
    (statuses.length === 0 || statuses.includes(String(job.status))) &&
    // any of the tags asked for, as `statusIn` is any of the statuses
    (tags.length === 0 || (Array.isArray(job.tags) && tags.some((tag) => (job.tags as unknown[]).includes(tag)))) &&
    (correct === undefined || job.correct === correct) &&
    (batchId === null || String(job.batchId) === batchId) &&
    (idSearch === null || String(job.id) === idSearch || job.uuid === idSearch)
}
