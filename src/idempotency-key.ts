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
 * 22 base64url characters (132 bits) of SHA-256 over the job uuid and the canonical body: a redelivery
 * maps to the same key in any key order, another callback of the same job to another. Short on
 * purpose: with the default prefix the key is 40 characters, which Redis stores in 88 bytes
 * (`npm run bench`); a readable `<uuid>:<digest>` key would take 120. Logs carry the uuid beside the key.
 */
export function defaultIdempotencyKey (event: SuperaiEvent): string {
  return createHash('sha256').update(event.uuid).update('\n').update(canonicalJson(event)).digest('base64url').slice(0, 22)
}

export const MAX_KEY_LENGTH = 512
