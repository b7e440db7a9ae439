import type { KeyObject } from 'node:crypto'
import { invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'
import type { SignatureKey } from './sign.js'
import { ecPublicKey, SignatureVerifier } from './ecdsa.js'

/** Signed callbacks: check super.AI's `X-SuperAI-Webhook-Signature` after `allowFrom` and `secret`, before anything else happens to a callback. */
export interface SignatureOptions {
  /**
   * super.AI's EC public key: a PEM (string or Buffer) or a `KeyObject`; several during a key rotation (a
   * callback passes when any of them verifies it).
   */
  readonly publicKey: SignatureKey | readonly SignatureKey[]
}

const SIGNATURE_OPTIONS = optionNames<SignatureOptions>({ publicKey: true })

/** The verifier of the `signature` option, or undefined without it; a coded error that never quotes a key otherwise. */
export function resolveSignatureOptions (value: unknown): SignatureVerifier | undefined {
  if (value === undefined) return undefined
  const { publicKey } = plainObject('signature', value, '{ publicKey }')
  rejectUnknown(value as object, SIGNATURE_OPTIONS, 'signature.')
  const given: unknown[] = Array.isArray(publicKey) ? publicKey : [publicKey]
  if (given.length === 0) throw invalid('signature.publicKey', 'expected at least one EC public key')
  const keys: KeyObject[] = []
  for (const key of given) {
    if (typeof key !== 'string' && !Buffer.isBuffer(key) && (typeof key !== 'object' || key === null)) {
      throw invalid('signature.publicKey', 'expected a PEM, a Buffer or a KeyObject (or an array of them)')
    }
    const resolved = ecPublicKey(key as SignatureKey)
    if (typeof resolved === 'string') throw invalid('signature.publicKey', `expected EC public keys: ${resolved}`)
    keys.push(resolved)
  }
  return new SignatureVerifier(keys)
}
