import type * as OpenTelemetryApi from '@opentelemetry/api'
import { codes } from '../errors.js'
import { whyNotLoaded } from '../optional-peer.js'

export type OtelApi = typeof OpenTelemetryApi

/**
 * `import('@opentelemetry/api')` with a coded error that says how to install it. The API keeps its
 * providers on a global, so the copy loaded here (ESM or CommonJS) sees the SDK the app registered.
 */
export async function loadOpenTelemetryApi (moduleName = '@opentelemetry/api'): Promise<OtelApi> {
  try {
    return await import(moduleName) as OtelApi
  } catch (err) {
    throw new codes.FST_SUPERAI_TELEMETRY_UNAVAILABLE(whyNotLoaded(err))
  }
}
