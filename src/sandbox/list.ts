import { RequestError } from './request-error.js'
import type { SandboxJob } from './jobs.js'
import { jobFilter, queryWhole } from './query.js'

/**
 * `GET /apps/{app_id}/jobs` (the SDK's `list_jobs`): filtered by `createdStartDate`, `createdEndDate`,
 * `completedStartDate`, `completedEndDate`, repeated `statusIn` and `tags` (any of them) and `correct`,
 * sorted by `sortBy` (default `id`) and `orderBy`, paged by `page` (from 0) and `size`. Answers
 * `{ jobs, pages }` and a field of its own (`total`), as the API may add some.
 */

/** Spring's default page size, which the API's paging follows when `size` is not given. */
const DEFAULT_SIZE = 20
const MAX_SIZE = 10_000

export function listJobs (all: readonly SandboxJob[], appId: string, query: URLSearchParams): Record<string, unknown> {
  const selects = jobFilter(appId, query, ['dates', 'statusIn', 'tags', 'correct'])
  const orderBy = query.get('orderBy') ?? 'asc'
  if (orderBy !== 'asc' && orderBy !== 'desc') throw new RequestError(400, 'orderBy must be "asc" or "desc"')
  const sortBy = query.get('sortBy') ?? 'id'
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(sortBy)) throw new RequestError(400, 'sortBy must name a job field')
  const page = queryWhole(query, 'page', 0, 0, 1_000_000_000)
  const size = queryWhole(query, 'size', DEFAULT_SIZE, 1, MAX_SIZE)

  const selected = all.filter(selects)
  const direction = orderBy === 'desc' ? -1 : 1
  selected.sort((a, b) => direction * String(a[sortBy] ?? '').localeCompare(String(b[sortBy] ?? ''), 'en', { numeric: true }))
  return { jobs: selected.slice(page * size, (page + 1) * size), pages: Math.ceil(selected.length / size), total: selected.length }
}
