import type { FastifyBodyParser, FastifyRequest } from 'fastify'
import { codes } from '../errors.js'
import { SIGNATURE_HEADER } from '../signature/sign.js'
import type { SignatureVerifier } from '../signature/ecdsa.js'

/** Fastify's default JSON parser is callback-style: its `done` form of `FastifyBodyParser<string>`. */
type StringParser = (request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => void

/** The raw body of each callback, as the parser read it, for the signature check; gone with the request. */
const rawBodies = new WeakMap<FastifyRequest, string>()

/** The route's JSON parser, keeping the raw text it parses (added in the route's own context only). */
export function keepingRawBody (parse: FastifyBodyParser<string>): StringParser {
  return (request, body, done) => {
    rawBodies.set(request, body)
    ;(parse as StringParser)(request, body, done)
  }
}

function signatureHeader (request: FastifyRequest): string | undefined {
  const value = request.headers[SIGNATURE_HEADER]
  return typeof value === 'string' && value.trim() !== '' ? value : undefined
}

/** `onRequest`: no header, no reading of the body. */
export function requireSignatureHeader (request: FastifyRequest): void {
  if (signatureHeader(request) === undefined) throw new codes.FST_SUPERAI_SIGNATURE_MISSING()
}

/** `preValidation`: after parsing, before the schema and the pipeline, so that nothing unsigned is stored or queued. */
export function checkSignature (request: FastifyRequest, verifier: SignatureVerifier): void {
  const header = signatureHeader(request)
  if (header === undefined) throw new codes.FST_SUPERAI_SIGNATURE_MISSING()
  const raw = rawBodies.get(request)
  if (raw === undefined || !verifier.verifies(raw, header)) throw new codes.FST_SUPERAI_SIGNATURE_INVALID()
}
