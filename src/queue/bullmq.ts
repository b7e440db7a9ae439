import type * as BullmqModule from 'bullmq'
import { codes } from '../errors.js'
import { whyNotLoaded } from '../optional-peer.js'

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
    throw new codes.FST_SUPERAI_QUEUE_UNAVAILABLE(whyNotLoaded(err))
  }
}
