import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import { codes } from '../errors.js'
import { pythonJson } from './python-json.js'

/** The header super.AI's page "Webhooks, Static IPs, and ECDSA" puts the signature in (lower case, as Node reads it). */
export const SIGNATURE_HEADER = 'x-superai-webhook-signature'

/** A key as a PEM (string or Buffer) or a `KeyObject`. */
export type SignatureKey = string | Buffer | KeyObject

/** A callback signed as super.AI signs it, ready for `app.inject({ method: 'POST', url, ...signed })` or `fetch(url, { method: 'POST', ...signed })`. */
export interface SignedCallback {
  /** `json.dumps(payload, sort_keys=True)`, as super.AI's Python writes it. */
  readonly body: string
  readonly headers: {
    readonly 'content-type': 'application/json'
    /** Base64 of the raw `r||s` pair of the ECDSA signature (SHA-256) over `body`. */
    readonly 'x-superai-webhook-signature': string
  }
}

/** An EC private key from a PEM (SEC1 `EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`) or a `KeyObject`; anything else throws `FST_SUPERAI_INVALID_SIGNING_KEY`. */
export function ecPrivateKey (key: SignatureKey): KeyObject {
  let object: KeyObject
  try {
    object = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key
  } catch {
    // the parser's message may quote the key: never repeated
    throw new codes.FST_SUPERAI_INVALID_SIGNING_KEY('it is not a PEM private key')
  }
  if (typeof object !== 'object' || object === null || (object as { type?: unknown }).type !== 'private') {
    throw new codes.FST_SUPERAI_INVALID_SIGNING_KEY('it is not a private key')
  }
  if (object.asymmetricKeyType !== 'ec') {
    throw new codes.FST_SUPERAI_INVALID_SIGNING_KEY(`it is an ${object.asymmetricKeyType ?? 'unknown'} key, not an EC one`)
  }
  return object
}

/**
 * Sign a callback body as super.AI does, for tests and for trying a receiver end to end: the body is
 * serialised as Python's `json.dumps(payload, sort_keys=True)` writes it, and signed with ECDSA over
 * SHA-256; the header is the base64 of the raw `r||s` pair, which super.AI's Python example decodes
 * (`sigdecode_string`). `privateKey` is an EC key (super.AI's sample is P-256), PEM SEC1 or PKCS#8, or a
 * `KeyObject`.
 *
 * Numbers: JavaScript cannot tell `1.0` from `1`, so a float with no fraction is written as the integer
 * Python would write for an `int`; other numbers are written as Python's `repr` writes them (`1e-07`).
 * Non-finite numbers and cycles throw a `TypeError`.
 */
export function signCallback (body: object, privateKey: SignatureKey): SignedCallback {
  const key = ecPrivateKey(privateKey)
  const text = pythonJson(body)
  const signature = sign('sha256', Buffer.from(text, 'utf8'), { key, dsaEncoding: 'ieee-p1363' })
  return {
    body: text,
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature.toString('base64') }
  }
}
