import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { test } from 'tap'
import { formatTraceparent, parseTraceparent } from '../../src/telemetry/traceparent.js'

// the SDK's own propagator is the independent reference for the format
const w3c = new W3CTraceContextPropagator()
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
const spanId = '00f067aa0ba902b7'

test('what we write, the SDK\'s W3C propagator reads as the same span context', async (t) => {
  for (const traceFlags of [0, 1]) {
    const carrier = { traceparent: formatTraceparent({ traceId, spanId, traceFlags }) }
    const read = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter))
    t.same(read, { traceId, spanId, traceFlags, isRemote: true }, `flags ${traceFlags}`)
  }
  t.equal(formatTraceparent({ traceId, spanId, traceFlags: 1 }), `00-${traceId}-${spanId}-01`, 'the specification\'s example')
})

test('what the SDK\'s W3C propagator writes, we read', async (t) => {
  for (const traceFlags of [0, 1]) {
    const carrier: Record<string, string> = {}
    w3c.inject(trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags }), carrier, defaultTextMapSetter)
    t.same(parseTraceparent(carrier.traceparent), { traceId, spanId, traceFlags })
  }
})

test('a malformed traceparent is ignored, as the SDK ignores it', async (t) => {
  const invalid: unknown[] = [
    undefined, 42, '', 'garbage',
    `00-${traceId}-${spanId}`,
    `00-${traceId.toUpperCase()}-${spanId}-01`,
    `ff-${traceId}-${spanId}-01`,
    `00-${'0'.repeat(32)}-${spanId}-01`,
    `00-${traceId}-${'0'.repeat(16)}-01`,
    `00-${traceId}-${spanId}-01-extra`,
    `00-${traceId.slice(1)}-${spanId}-01`
  ]
  for (const value of invalid) {
    t.equal(parseTraceparent(value), undefined, `${String(value)}: ignored`)
    if (typeof value === 'string') {
      const sdk = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, { traceparent: value }, defaultTextMapGetter))
      t.equal(sdk, undefined, `${value}: the SDK ignores it too`)
    }
  }
  const later = `cc-${traceId}-${spanId}-01-what-a-later-version-adds`
  t.same(parseTraceparent(later), { traceId, spanId, traceFlags: 1 }, 'a later version\'s extra fields are allowed')
  t.ok(trace.getSpanContext(w3c.extract(ROOT_CONTEXT, { traceparent: later }, defaultTextMapGetter)), 'as the SDK allows them')
})
