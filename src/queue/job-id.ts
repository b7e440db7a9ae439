/**
 * BullMQ refuses integer-like job ids and ids holding ":", which idempotency keys usually hold
 * (`superai:callbacks:...`). A fixed head and two escapes keep the id readable in bull-board and
 * reversible: `cb_superai%3Acallbacks%3A<digest>`.
 */
const HEAD = 'cb_'

export function encodeJobId (key: string): string {
  return HEAD + key.replace(/%/g, '%25').replace(/:/g, '%3A')
}

/** The idempotency key of a job id made by `encodeJobId`; undefined for any other id. */
export function decodeJobId (id: string | undefined): string | undefined {
  if (id?.startsWith(HEAD) !== true) return undefined
  return id.slice(HEAD.length).replace(/%(25|3A)/g, (_match, hex: string) => hex === '25' ? '%' : ':')
}
