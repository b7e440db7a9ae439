import { createHash } from 'node:crypto'

/**
 * BullMQ job ids derived from idempotency keys. BullMQ refuses integer-like ids and most ids holding
 * ":", and bull-board (like any UI that puts the id in a URL) only opens a job whose id survives being
 * encoded, decoded and routed, and that fits Fastify's default `maxParamLength` of 100. So an id holds
 * URL-unreserved characters only (`A-Z a-z 0-9 - . _ ~`) and at most 100 of them:
 *
 * - `cb.` + the key with ":" written "." and every other character outside `A-Z a-z 0-9 - _` written
 *   `~XX` (its UTF-16 code unit in hex, `~uXXXX` above 0xFF). A default key `superai:callbacks:<digest>`
 *   reads `cb.superai.callbacks.<digest>` (a state change's `{<tag>}C`, `~7B<tag>~7DC`), and the id alone
 *   holds the key (the key shown is `job.data.key`).
 * - a key whose id would be longer: the readable start of that id, `~~`, and 22 base64url characters
 *   of SHA-256 over the key. The exact key is in the job's data (`job.data.key`).
 */
const HEAD = 'cb.'
const DIGEST_MARK = '~~'
const DIGEST_LENGTH = 22
const MAX_JOB_ID_LENGTH = 100

/** Characters a key keeps as they are in its id. */
const PLAIN = /^[A-Za-z0-9_-]$/

const hex = (code: number, width: number): string => code.toString(16).toUpperCase().padStart(width, '0')

/** One UTF-16 code unit as it is written in an id: lone surrogates too, so any string comes back exactly. */
function encodeUnit (unit: string): string {
  if (PLAIN.test(unit)) return unit
  if (unit === ':') return '.'
  const code = unit.charCodeAt(0)
  return code <= 0xff ? `~${hex(code, 2)}` : `~u${hex(code, 4)}`
}

function digestOf (key: string): string {
  // over the UTF-16 code units, so that two keys differing only in a lone surrogate get two digests
  return createHash('sha256').update(Buffer.from(key, 'utf16le')).digest('base64url').slice(0, DIGEST_LENGTH)
}

/** The BullMQ job id of the callback whose idempotency key (prefix included) is `key`. */
export function encodeJobId (key: string): string {
  let id = HEAD
  const room = MAX_JOB_ID_LENGTH - DIGEST_MARK.length - DIGEST_LENGTH
  let cut = -1
  for (let i = 0; i < key.length; i++) {
    const encoded = encodeUnit(key.charAt(i))
    if (cut < 0 && id.length + encoded.length > room) cut = id.length
    id += encoded
    if (id.length > MAX_JOB_ID_LENGTH) break
  }
  if (id.length <= MAX_JOB_ID_LENGTH) return id
  return id.slice(0, cut) + DIGEST_MARK + digestOf(key)
}
