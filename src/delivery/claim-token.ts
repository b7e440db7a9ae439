import { randomBytes } from 'node:crypto'

/**
 * Claim tokens only have to be unique among the deliveries sharing a store, and never equal the
 * processed marker: a random per-process part and a counter, far cheaper than random bytes per claim.
 */
const TOKEN_PREFIX = randomBytes(9).toString('base64url')
let tokenCounter = 0

export const nextClaimToken = (): string => `${TOKEN_PREFIX}${(tokenCounter++).toString(36)}`
