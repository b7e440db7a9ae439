import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { pythonJsonFormsOfText } from './python-json.js'
import type { SignatureKey } from './sign.js'

/**
 * The longest header worth decoding: hex of a DER signature on P-521, the largest curve Node verifies
 * (2 * 139 characters), with room to spare. Anything longer is refused before any decoding.
 */
export const MAX_SIGNATURE_HEADER_LENGTH = 512

const HEX = /^(?:[0-9a-fA-F]{2})+$/
// base64 and base64url alike (Node decodes both alphabets), padded or not
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/

/** A public key ready to verify: the key, and the size in bytes of each half of its raw `r||s` signature. */
interface VerifyingKey {
  readonly key: KeyObject
  readonly halfLength: number
}

/** An EC public key from a PEM (string or Buffer) or a `KeyObject`, or the reason it is not one (never quoting the key). */
export function ecPublicKey (key: SignatureKey): KeyObject | string {
  let object: KeyObject
  try {
    object = typeof key === 'string' || Buffer.isBuffer(key) ? createPublicKey(key) : key
  } catch {
    return 'a key is not a PEM public key'
  }
  if (typeof object !== 'object' || object === null || typeof (object as { type?: unknown }).type !== 'string') return 'a key is not a PEM, a Buffer or a KeyObject'
  // createPublicKey also derives a public key from a private PEM: refuse what was given as private
  if (object.type !== 'public' || ((typeof key === 'string' || Buffer.isBuffer(key)) && /PRIVATE KEY-----/.test(key.toString()))) {
    return 'a key is private; give super.AI\'s public key'
  }
  if (object.asymmetricKeyType !== 'ec') return `a key is an ${object.asymmetricKeyType ?? 'unknown'} key, not an EC one`
  return object
}

/**
 * Checks super.AI's `X-SuperAI-Webhook-Signature`. super.AI's
 * page fixes ECDSA with SHA-256 over the payload with sorted keys, but neither how the header encodes the
 * bytes nor the whitespace of the serialisation; so a signature passes when, with any of the keys, it
 * verifies
 * - decoded from base64, base64url or hex,
 * - as the raw `r||s` pair (what super.AI's Python example decodes) or DER,
 * - over the exact raw body, or the body re-written as `json.dumps(payload, sort_keys=True)` writes it
 *   (`", "` and `": "`), or that sorted form without spaces.
 * Each of these is a fixed encoding of the same bytes or a fixed serialisation of the same parsed value,
 * so none lets a changed value, an added or a removed field through.
 */
export class SignatureVerifier {
  readonly #keys: readonly VerifyingKey[]

  constructor (keys: readonly KeyObject[]) {
    this.#keys = Object.freeze(keys.map((key) => ({ key, halfLength: halfLengthOf(key) })))
  }

  /** Whether `header` is a signature of `rawBody` by one of the keys; bounded work whatever the input. */
  verifies (rawBody: string, header: string): boolean {
    const signatures = decodeHeader(header)
    if (signatures.length === 0) return false
    const raw = Buffer.from(rawBody, 'utf8')
    if (this.#anyVerifies(raw, signatures)) return true
    const forms = pythonJsonFormsOfText(rawBody)
    if (forms === undefined) return false
    for (const form of new Set(forms)) {
      if (form !== rawBody && this.#anyVerifies(Buffer.from(form, 'utf8'), signatures)) return true
    }
    return false
  }

  #anyVerifies (message: Buffer, signatures: readonly Buffer[]): boolean {
    for (const { key, halfLength } of this.#keys) {
      for (const signature of signatures) {
        // the raw pair has exactly the curve's length; DER is a SEQUENCE (0x30): nothing else is tried
        const encoding = signature.length === 2 * halfLength ? 'ieee-p1363' : signature[0] === 0x30 ? 'der' : undefined
        if (encoding === undefined) continue
        try {
          if (verify('sha256', message, { key, dsaEncoding: encoding }, signature)) return true
        } catch {
          // a malformed signature is one that does not verify
        }
      }
    }
    return false
  }
}

/** The bytes the header can stand for: hex and base64 of the same text both tried, nothing for other text. */
function decodeHeader (header: string): readonly Buffer[] {
  const text = header.trim()
  if (text === '' || text.length > MAX_SIGNATURE_HEADER_LENGTH) return []
  const decoded: Buffer[] = []
  if (HEX.test(text)) decoded.push(Buffer.from(text, 'hex'))
  if (BASE64.test(text)) decoded.push(Buffer.from(text, 'base64'))
  return decoded
}

/** The byte length of each of `r` and `s` for the key's curve (32 for P-256), from its public point. */
function halfLengthOf (key: KeyObject): number {
  const { x } = key.export({ format: 'jwk' })
  return Buffer.from(x ?? '', 'base64url').length
}
