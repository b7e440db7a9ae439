import type * as OpenTelemetryApi from '@opentelemetry/api'
import { codes } from '../errors.js'

export type OtelApi = typeof OpenTelemetryApi

/**
 * `import('@opentelemetry/api')` with a coded error that says how to install it. The API keeps its
 * providers on a global, so the copy loaded here (ESM or CommonJS) sees the SDK the app registered.
 */
export async function loadOpenTelemetryApi (moduleName = '@opentelemetry/api'): Promise<OtelApi> {
  try {
    return await import(moduleName) as OtelApi
  } catch (err) {
    const { code, message } = err as { code?: unknown, message?: unknown }
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /cannot find (module|package)/i.test(String(message))
    throw new codes.FST_SUPERAI_TELEMETRY_UNAVAILABLE(missing ? 'it is not installed' : String(message))
  }
}
