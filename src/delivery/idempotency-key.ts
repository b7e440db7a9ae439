import * as crypto from 'node:crypto'
import { STATE_CHANGE_ACTION, isJobAction, isJobState, type JobState } from '../events.js'
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
 * Each documented state's letter in the key of its state change. Written out: keys outlive a deploy in a
 * shared store, so a letter must never change meaning (a new state takes a new letter).
 */
const STATE_LETTERS: { readonly [S in JobState]: string } = Object.freeze({
  FAILED: 'F',
  SUSPENDED: 'S',
  CANCELED: 'X',
  EXPIRED: 'E',
  COMPLETED: 'C',
  REVIEWED: 'R',
  'POST PROCESSING': 'P',
  'POST PROCESSED': 'D',
  'NEEDS REVIEW': 'N'
})

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

/**
 * A job's part of its keys: the uuid's 16 bytes in 22 base64url characters (a uuid of another shape: 22
 * characters of its SHA-256), inside braces, so that on a Redis Cluster every key of one job hashes to one
 * slot and one script can read them all.
 */
export function jobTag (uuid: string): string {
  const id = UUID.test(uuid) ? Buffer.from(uuid.replaceAll('-', ''), 'hex').toString('base64url') : sha256Base64url('job\n' + uuid.toLowerCase()).slice(0, 22)
  return `{${id}}`
}

/**
 * The key, after the prefix, of a job's state change: its tag and its state's letter (an undocumented
 * state: `~` and 11 characters of its digest). Derived from the uuid and state alone, so the keys of a
 * job's other states can be named without having seen them.
 */
export function stateChangeKey (uuid: string, state: string): string {
  return jobTag(uuid) + stateSuffix(state)
}

/** What follows the job's tag in the key of a state change in `state`. */
export function stateSuffix (state: string): string {
  return isJobState(state) ? STATE_LETTERS[state] : '~' + sha256Base64url(state).slice(0, 11)
}

/**
 * A state change (action `RESOLVED`) is keyed by the job uuid and its normalised state alone
 * (`stateChangeKey`): a job reaches a state once, so a redelivery, the same callback with other extra
 * fields, and the state change found by reconciliation (`reconciled: true`) share one key. Any other
 * action (an edit, a tag, a verdict) is keyed by 22 base64url characters (132 bits) of the SHA-256 of the
 * uuid and the canonical body, so that a redelivery is a duplicate while another edit is not. Short on
 * purpose: with the default prefix a state change's key is 43 characters and another action's 40, both
 * in one 48-byte allocation in Redis. Logs carry the uuid beside the key.
 */
export function defaultIdempotencyKey (event: SuperaiEvent): string {
  if (event.action === STATE_CHANGE_ACTION || (!isJobAction(event.action) && normalizeValue(event.action) === STATE_CHANGE_ACTION)) {
    return stateChangeKey(event.uuid, normalizeStatus(event.state))
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
 * remembered (`context.superseded`) when `idempotencyKey` is the user's own (the default key's states are
 * read from the keys of the state changes): `job:` and a digest of the uuid, never equal to a default key
 * (none has a `:`). Earlier versions kept one for every job: it is read until it expires.
 */
export function jobMarksKey (uuid: string): string {
  return 'job:' + sha256Base64url('job\n' + uuid.toLowerCase()).slice(0, 22)
}

/**
 * The key, after the prefix, where the trace context a job (or batch) was submitted in is kept (the
 * `telemetry` option): its tag and `A`, a letter no state takes, so that on a Cluster the claim of the
 * job's state changes reads it in the same script.
 */
export function submissionAnchorKey (id: string): string {
  return jobTag(id) + 'A'
}

export const MAX_KEY_LENGTH = 512
