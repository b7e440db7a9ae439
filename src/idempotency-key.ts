import { createHash } from 'node:crypto'
import type { SuperaiEvent } from './schema.js'

/** JSON with object keys sorted at every depth, so that key order never changes a digest. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value)
}

/**
 * `<uuid>:<digest>`: the job stays readable in Redis, and 96 bits of SHA-256 over the canonical body
 * tell apart the callbacks of one job while keeping the key (and Redis memory) small.
 */
export function defaultIdempotencyKey (event: SuperaiEvent): string {
  const digest = createHash('sha256').update(canonicalJson(event)).digest('base64url').slice(0, 16)
  return `${event.uuid}:${digest}`
}

export const MAX_KEY_LENGTH = 512
