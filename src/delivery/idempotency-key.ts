import * as crypto from 'node:crypto'
import { STATE_CHANGE_ACTION, isJobAction } from '../events.js'
import type { SuperaiEvent } from '../schema.js'
import { normalizeStatus, normalizeValue } from './normalize.js'

/** Sorts in place by UTF-16 code units, as `Array.prototype.sort()` does: insertion sort for the few keys of a callback. */
function sortKeys (keys: string[]): void {
  if (keys.length > 16) {
    keys.sort()
    return
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string
    let j = i - 1
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string
      j--
    }
    keys[j + 1] = key
  }
}

/** JSON with object keys sorted at every depth, so that key order never changes a digest. */
export function canonicalJson (value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value)
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      out += canonicalJson(value[i] ?? null)
    }
    return out + ']'
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  sortKeys(keys)
  let out = '{'
  for (const key of keys) {
    const item = record[key]
    if (item === undefined) continue
    if (out.length > 1) out += ','
    out += JSON.stringify(key) + ':' + canonicalJson(item)
  }
  return out + '}'
}

/** One-shot hashing (Node >= 20.12) skips the Hash object; older Node 20 releases take the streaming API. */
const sha256Base64url: (data: string) => string = typeof (crypto as Partial<typeof crypto>).hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'base64url')
  : (data) => crypto.createHash('sha256').update(data).digest('base64url')

/**
 * 22 base64url characters (132 bits) of SHA-256. A state change (action `RESOLVED`) is keyed by the job
 * uuid and its normalised state alone: a job reaches a state once, so a redelivery, the same callback with
 * other extra fields, and the state change found by reconciliation (`reconciled: true`) share one key.
 * Any other action (an edit, a tag, a verdict) is keyed by the uuid and the canonical body, so that a
 * redelivery is a duplicate while another edit is not. Short on purpose, since Redis keeps one per
 * remembered callback for `ttl`: with the default prefix the key is 40 characters, where a readable
 * `<uuid>:<digest>` key would be 77. Logs carry the uuid beside the key.
 */
export function defaultIdempotencyKey (event: SuperaiEvent): string {
  if (event.action === STATE_CHANGE_ACTION || (!isJobAction(event.action) && normalizeValue(event.action) === STATE_CHANGE_ACTION)) {
    // the "state" line keeps these digests apart from the body digests below
    return sha256Base64url('state\n' + event.uuid.toLowerCase() + '\n' + normalizeStatus(event.state)).slice(0, 22)
  }
  return sha256Base64url(event.uuid + '\n' + canonicalJson(event)).slice(0, 22)
}

/**
 * The key of a v2 (batch) callback: its entity type, entity id and state alone, digested as the job key
 * is. A redelivery is a duplicate; another state of the same batch is another callback. The
 * `idempotencyKey` option is written for job callbacks (it reads `uuid`), so it is not applied to these.
 */
export function batchIdempotencyKey (event: SuperaiEvent<'entity'>): string {
  return sha256Base64url(`v2\n${event.entityType}\n${event.entityId}\n${event.state}`).slice(0, 22)
}

/**
 * The part of a job's key, after the prefix, under which the states of the job already processed are
 * remembered (`context.superseded`): `job:` and a digest of the uuid, as short as a callback's key and
 * never equal to one (a default key has no `:`). It does not depend on `idempotencyKey`.
 */
export function jobMarksKey (uuid: string): string {
  return 'job:' + sha256Base64url('job\n' + uuid.toLowerCase()).slice(0, 22)
}

export const MAX_KEY_LENGTH = 512
