/**
 * The three workloads, as body generators the load generator calls once per request. Bodies are the shape
 * super.AI posts; uuids are random, the choice of repeats is seeded, so a run's traffic pattern is reproducible.
 */
import { randomUUID, sign, type KeyObject } from 'node:crypto'

export type WorkloadName = 'unique' | 'redeliveries' | 'one-callback'

export interface Workload {
  readonly name: WorkloadName
  readonly label: string
  readonly connections: number
  /** The next request body. */
  next (): string
  /** The next request with headers of its own (a signed callback), when the workload has them; else `next()`. */
  nextRequest?: () => { readonly body: string, readonly headers: Readonly<Record<string, string>> }
  /** How many different callbacks were sent so far: the most times a deduplicating handler may run. */
  readonly distinct: number
  readonly sent: number
}

export const WORKLOADS: ReadonlyArray<{ readonly name: WorkloadName, readonly label: string, readonly connections: number }> = [
  { name: 'unique', label: '(a) all unique', connections: 50 },
  { name: 'redeliveries', label: '(b) 30% redeliveries', connections: 50 },
  { name: 'one-callback', label: '(c) 100 concurrent redeliveries of one callback', connections: 100 }
]

/** The redelivered share in workload (b). */
export const REDELIVERY_RATE = 0.3
/** Redeliveries pick among this many earlier callbacks... */
const HISTORY = 10_000
/** ...but not the most recent ones: a redelivery comes after the first delivery was answered, like super.AI's. */
const MIN_AGE = 200

/** xorshift32: cheap, seeded, good enough to choose which requests repeat; a run's pattern is reproducible. */
export function prng (seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 0x1_0000_0000
  }
}

let sequence = 0

/** A fresh callback body: a new job uuid and dashboard id each time. */
export function uniqueBody (): string {
  sequence++
  return `{"id":"${sequence}","uuid":"${randomUUID()}","state":"COMPLETED","action":"RESOLVED"}`
}

export function createWorkload (name: WorkloadName, seed = 42): Workload {
  const spec = WORKLOADS.find((w) => w.name === name)
  if (spec === undefined) throw new Error(`unknown workload ${name}`)
  const { label, connections } = spec
  let sent = 0
  let distinct = 0

  if (name === 'one-callback') {
    const body = uniqueBody()
    return {
      name,
      label,
      connections,
      next: () => { sent++; distinct = 1; return body },
      get distinct () { return distinct },
      get sent () { return sent }
    }
  }

  const random = prng(seed)
  const history: string[] = new Array<string>(HISTORY)
  const redeliver = name === 'redeliveries' ? REDELIVERY_RATE : 0
  return {
    name,
    label,
    connections,
    next () {
      sent++
      if (distinct > MIN_AGE && random() < redeliver) {
        const span = Math.min(distinct, HISTORY) - MIN_AGE
        const back = MIN_AGE + Math.floor(random() * span)
        const earlier = history[(distinct - 1 - back) % HISTORY]
        if (earlier !== undefined) return earlier
      }
      const body = uniqueBody()
      history[distinct % HISTORY] = body
      distinct++
      return body
    },
    get distinct () { return distinct },
    get sent () { return sent }
  }
}

/**
 * Workload (a) signed as super.AI signs (ECDSA P-256 over the body, header `X-SuperAI-Webhook-Signature`):
 * `pool` bodies signed before the round, since one signature costs the sender about as much as the server's
 * check of it; past the pool, each is signed when sent.
 */
export function signedWorkload (privateKey: KeyObject, pool: number): Workload {
  const signed = (body: string): { body: string, headers: Record<string, string> } => ({
    body,
    headers: { 'x-superai-webhook-signature': sign('sha256', Buffer.from(body), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64') }
  })
  const ready = Array.from({ length: pool }, () => signed(uniqueBody()))
  let sent = 0
  const nextRequest = (): { body: string, headers: Record<string, string> } => ready[sent++] ?? signed(uniqueBody())
  return {
    name: 'unique',
    label: WORKLOADS[0]?.label ?? 'unique',
    connections: WORKLOADS[0]?.connections ?? 50,
    next: () => nextRequest().body,
    nextRequest,
    get distinct () { return sent },
    get sent () { return sent }
  }
}
