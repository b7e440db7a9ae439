import { createHash, timingSafeEqual } from 'node:crypto'
import { BlockList, isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import { codes } from '../errors.js'

export type SecretLocation = 'path' | 'header' | 'query'

/** Where a token travels when it is not in the path. */
const TOKEN_HEADER = 'x-superai-token'
export const TOKEN_QUERY = 'token'

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest()

/**
 * True when `candidate` is one of `secrets`. Both sides are hashed first so the comparison takes the
 * same time whatever the lengths, and every secret is compared, so timing tells nothing about which.
 */
export function tokenMatches (candidate: string | undefined, secrets: readonly Buffer[]): boolean {
  const digest = sha256(candidate ?? '')
  let match = false
  for (const secret of secrets) match = timingSafeEqual(digest, secret) || match
  return candidate !== undefined && match
}

export const hashSecrets = (secrets: readonly string[]): readonly Buffer[] => Object.freeze(secrets.map(sha256))

/** The token a request presents, from where the options say it travels. */
function presentedToken (request: FastifyRequest, location: SecretLocation): string | undefined {
  const value = location === 'path'
    ? (request.params as Record<string, string | undefined> | undefined)?.token
    : location === 'header'
      ? request.headers[TOKEN_HEADER]
      : (request.query as Record<string, string | string[] | undefined> | undefined)?.[TOKEN_QUERY]
  return typeof value === 'string' ? value : undefined
}

/** An allow-list from CIDRs or single addresses; throws a RangeError naming the bad entry. */
export function buildAllowList (entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/')
    const family = isIP(address)
    if (family === 0) throw new RangeError(`"${entry}" is not an IP address or CIDR`)
    const type = family === 4 ? 'ipv4' : 'ipv6'
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits)
    if (!/^\d+$/.test(bits ?? '0') || prefix > (family === 4 ? 32 : 128)) throw new RangeError(`"${entry}" has an invalid prefix length`)
    list.addSubnet(address, prefix, type)
  }
  return list
}

/** `request.ip` is the client address, or, under Fastify's `trustProxy`, the forwarded one. */
function isAllowed (list: BlockList, ip: string): boolean {
  // an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1]
  const address = mapped ?? ip
  const family = isIP(address)
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/** The URL as logged: the token segment (path) or parameter (query) replaced, so logs never hold it. */
export function redactUrl (url: string, location: SecretLocation): string {
  const queryAt = url.indexOf('?')
  const path = queryAt === -1 ? url : url.slice(0, queryAt)
  const query = queryAt === -1 ? '' : url.slice(queryAt + 1)
  const redactedPath = location === 'path' ? path.replace(/[^/]+\/?$/, (segment) => segment.endsWith('/') ? '[redacted]/' : '[redacted]') : path
  if (query === '') return redactedPath
  const params = new URLSearchParams(query)
  if (params.has(TOKEN_QUERY)) params.set(TOKEN_QUERY, '[redacted]')
  return `${redactedPath}?${params.toString()}`
}

export interface Guard {
  readonly allowList: BlockList | undefined
  readonly secrets: readonly Buffer[] | undefined
  readonly secretIn: SecretLocation
}

/**
 * The one `warn` line of a refused sender, with the fields every other refusal logs (`code`, `statusCode`,
 * `reason`) and the address; never the token.
 */
function refuse<E extends Error & { readonly code: string, readonly statusCode?: number }> (request: FastifyRequest, error: E, reason: string): E {
  request.log.warn({ code: error.code, statusCode: error.statusCode, reason, ip: request.ip, source: 'http' }, 'super.AI callback refused: %s', reason)
  return error
}

/** Runs before the body is read: an address outside the allow-list gets 403, a missing or wrong token 401. */
export function checkRequest (request: FastifyRequest, guard: Guard): void {
  if (guard.allowList !== undefined && !isAllowed(guard.allowList, request.ip)) {
    throw refuse(request, new codes.FST_SUPERAI_FORBIDDEN(), 'address not in allowFrom')
  }
  if (guard.secrets === undefined) return
  const token = presentedToken(request, guard.secretIn)
  if (!tokenMatches(token, guard.secrets)) {
    throw refuse(request, new codes.FST_SUPERAI_UNAUTHORIZED(), token === undefined ? 'no token presented' : 'the token matches no secret')
  }
}
