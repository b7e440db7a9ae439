import { RequestError, type SandboxJob } from './jobs.js'

/**
 * `GET /apps/{app_id}/jobs` (the SDK's `list_jobs`): filtered by `createdStartDate`, `createdEndDate`,
 * `completedStartDate`, `completedEndDate` (UTC, `YYYY-MM-DDTHH:MM:SSZ`) and repeated `statusIn`, sorted by
 * `sortBy` (default `id`) and `orderBy`, paged by `page` (from 0) and `size`. Answers `{ jobs, pages }`
 * and a field of its own (`total`), as the API may add some.
 */

const SDK_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const DATES = ['createdStartDate', 'createdEndDate', 'completedStartDate', 'completedEndDate'] as const
/** Spring's default page size, which the API's paging follows when `size` is not given. */
const DEFAULT_SIZE = 20
const MAX_SIZE = 10_000

function whole (query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const value = query.get(name)
  if (value === null) return fallback
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) throw new RequestError(400, `${name} must be an integer from ${min} to ${max}, got "${value.slice(0, 40)}"`)
  return parsed
}

export function listJobs (all: readonly SandboxJob[], appId: string, query: URLSearchParams): Record<string, unknown> {
  const bounds = Object.fromEntries(DATES.map((name) => {
    const value = query.get(name)
    if (value !== null && (!SDK_DATE.test(value) || Number.isNaN(Date.parse(value)))) throw new RequestError(400, `${name} must be YYYY-MM-DDTHH:MM:SSZ (UTC)`)
    return [name, value === null ? undefined : Date.parse(value)]
  })) as Record<typeof DATES[number], number | undefined>
  const orderBy = query.get('orderBy') ?? 'asc'
  if (orderBy !== 'asc' && orderBy !== 'desc') throw new RequestError(400, 'orderBy must be "asc" or "desc"')
  const sortBy = query.get('sortBy') ?? 'id'
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(sortBy)) throw new RequestError(400, 'sortBy must name a job field')
  const page = whole(query, 'page', 0, 0, 1_000_000_000)
  const size = whole(query, 'size', DEFAULT_SIZE, 1, MAX_SIZE)
  const statuses = query.getAll('statusIn')

  const within = (value: unknown, start: number | undefined, end: number | undefined): boolean => {
    if (start === undefined && end === undefined) return true
    if (typeof value !== 'string') return false
    const at = Date.parse(value)
    return (start === undefined || at >= start) && (end === undefined || at <= end)
  }
  const selected = all.filter((job) =>
    job.appId === appId &&
    within(job.created, bounds.createdStartDate, bounds.createdEndDate) &&
    within(job.completed, bounds.completedStartDate, bounds.completedEndDate) &&
    (statuses.length === 0 || statuses.includes(String(job.status))))
  const direction = orderBy === 'desc' ? -1 : 1
  selected.sort((a, b) => direction * String(a[sortBy] ?? '').localeCompare(String(b[sortBy] ?? ''), 'en', { numeric: true }))
  return { jobs: selected.slice(page * size, (page + 1) * size), pages: Math.ceil(selected.length / size), total: selected.length }
}
