/**
 * Why an optional peer dependency (`bullmq`, `@opentelemetry/api`) could not be imported, for the coded
 * error that says how to install it: "it is not installed", or the loader's own message.
 */
export function whyNotLoaded (err: unknown): string {
  const { code, message } = err as { code?: unknown, message?: unknown }
  const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /cannot find (module|package)/i.test(String(message))
  return missing ? 'it is not installed' : String(message)
}
