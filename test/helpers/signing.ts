import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { pythonJsonFormsOfText, type PythonJsonSpacing } from '../../src/signature/python-json.js'

/** A fresh EC key pair (P-256 unless told), with its PEMs. */
export function ecKeyPair (namedCurve = 'P-256'): { privateKey: KeyObject, publicKey: KeyObject, publicPem: string, sec1: string, pkcs8: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve })
  return {
    privateKey,
    publicKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    sec1: privateKey.export({ type: 'sec1', format: 'pem' }) as string,
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  }
}

/** A signature of `message` as a header value, in any of the encodings a receiver must accept. */
export function signatureOf (
  message: string, key: KeyObject, { der = false, encoding = 'base64' }: { der?: boolean, encoding?: 'base64' | 'base64url' | 'hex' } = {}
): string {
  return sign('sha256', Buffer.from(message, 'utf8'), { key, dsaEncoding: der ? 'der' : 'ieee-p1363' }).toString(encoding)
}

/** One spacing of `pythonJsonFormsOfText`: the verifier's re-writing of a JSON text, for the tests to compare. */
export function pythonJsonOfText (text: string, spacing: PythonJsonSpacing = 'spaced'): string | undefined {
  return pythonJsonFormsOfText(text)?.[spacing === 'spaced' ? 0 : 1]
}
