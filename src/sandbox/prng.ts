/**
 * A small seeded PRNG (sfc32, seeded through splitmix32), so that a seed replays the same stream: the
 * sandbox's uuids, lifecycles and duplicates, and the CLI's `simulate --seed X` (same jobs, same uuids, same
 * redeliveries in the same order).
 */
export interface Random {
  /** A float in [0, 1). */
  next: () => number
  /** An integer in [min, max]. */
  int: (min: number, max: number) => number
  /** true with probability p. */
  chance: (p: number) => boolean
  /** One of the values, each with its weight. */
  weighted: <T>(choices: ReadonlyArray<readonly [T, number]>) => T
  /** A random (version 4 layout) UUID drawn from this generator. */
  uuid: () => string
}

/** Seeds from a number or any string (hashed), so `--seed run-42` works as well as `--seed 1`. */
export function createRandom (seed: number | string): Random {
  let state = typeof seed === 'number' ? seed >>> 0 : hashString(seed)
  const splitmix = (): number => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()

  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1))

  return {
    next,
    int,
    chance: (p) => next() < p,
    weighted (choices) {
      const total = choices.reduce((sum, [, weight]) => sum + weight, 0)
      let pick = next() * total
      for (const [value, weight] of choices) {
        pick -= weight
        if (pick < 0) return value
      }
      const last = choices[choices.length - 1]
      if (last === undefined) throw new RangeError('weighted() needs at least one choice')
      return last[0]
    },
    uuid () {
      const hex = Array.from({ length: 32 }, () => int(0, 15).toString(16))
      hex[12] = '4'
      hex[16] = (8 + int(0, 3)).toString(16)
      const s = hex.join('')
      return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
    }
  }
}

/** FNV-1a: a stable 32-bit number from a string seed. */
function hashString (value: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}
