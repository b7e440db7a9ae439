import type * as BullmqModule from 'bullmq'
import { codes } from '../errors.js'

/** The BullMQ module, loaded only in queue mode so that the package works without it installed. */
export type Bullmq = typeof BullmqModule

/**
 * `import('bullmq')` with a coded error that says how to install it. `moduleName` exists for the test
 * of the missing-package path.
 */
export async function loadBullmq (moduleName = 'bullmq'): Promise<Bullmq> {
  try {
    return await import(moduleName) as Bullmq
  } catch (err) {
    const { code, message } = err as { code?: unknown, message?: unknown }
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /cannot find (module|package)/i.test(String(message))
    const reason = missing ? 'it is not installed' : String(message)
    throw new codes.FST_SUPERAI_QUEUE_UNAVAILABLE(reason)
  }
}
