/**
 * W3C Trace Context's `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header), written and
 * read here because `@opentelemetry/api` ships no propagator (the SDK's `@opentelemetry/core` does, and a
 * library depends on the API only). A job's data and a job's stored anchor hold it, so a span context
 * survives a queue hop or hours in the store whatever propagators the app registered.
 */

/** The parts of a span context a `traceparent` holds (the API's `SpanContext` has these). */
export interface TraceparentParts {
  readonly traceId: string
  readonly spanId: string
  readonly traceFlags: number
}

const PATTERN = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(-.*)?$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/** `00-{trace id}-{span id}-{flags}`: 55 characters. */
export function formatTraceparent ({ traceId, spanId, traceFlags }: TraceparentParts): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`
}

/**
 * The span context a `traceparent` names, or undefined for anything else (a malformed value is ignored,
 * as the specification asks of a receiver). A later version's extra fields are allowed, version 00's not.
 */
export function parseTraceparent (value: unknown): TraceparentParts | undefined {
  if (typeof value !== 'string') return undefined
  const match = PATTERN.exec(value.trim())
  if (match === null) return undefined
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined]
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) }
}
