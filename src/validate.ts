import { codes } from './errors.js'

/**
 * The checks every options object shares (the plugin's and its `verify`, `queue` and `reconcile`, the
 * worker's, the client's, the stores'): one coded error, one way to say what was given, and each rule
 * (integers, unknown names, the API key, the API's base URL, project ids) written once.
 */

/** The coded error of a bad option, naming it. */
export const invalid = (option: string, reason: string): Error => new codes.FST_SUPERAI_INVALID_OPTION(option, reason)

/** A short, safe description of a value for an error message (long strings cut, never a whole object). */
export function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value)
}

/** `value`, or `fallback` when it is undefined; an integer from `min` to `max` or a coded error. */
export function integerOption (option: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
    throw invalid(option, `expected an integer ${range}, got ${describe(value)}`)
  }
  return value
}

/**
 * The names of an options type as a set, from a record that must list each of them once: the compiler
 * fails the build when a name is missing or not declared.
 */
export function optionNames<T> (names: Record<keyof T, true>): ReadonlySet<string> {
  return new Set(Object.keys(names))
}

/** The first property of `value` that is not in `known` (a typo, or an option of another version). */
export function firstUnknown (value: object, known: ReadonlySet<string>): string | undefined {
  return Object.keys(value).find((name) => !known.has(name))
}

/** Throws naming the first property of `value` that is not in `known`, under `path` (e.g. `queue.`). */
export function rejectUnknown (value: object, known: ReadonlySet<string>, path = ''): void {
  const name = firstUnknown(value, known)
  if (name !== undefined) throw invalid(`${path}${name}`, 'unknown option')
}

/** `value` as a plain object (not null, not an array), or a coded error saying what was expected. */
export function plainObject (option: string, value: unknown, expected: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(option, `expected ${expected}, got ${describe(value)}`)
  return value as Record<string, unknown>
}

/** A string with something other than whitespace in it. */
export const isNonBlankString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== ''

/** An absolute `http://` or `https://` URL with a host, such as super.AI's API base `https://api.super.ai/v1`. */
export const isHttpUrl = (value: unknown): value is string =>
  typeof value === 'string' && /^https?:\/\/[^/]/.test(value) && URL.canParse(value)

/** A super.AI API key: a non-blank string, never repeated in the error (it is a secret). */
export function apiKeyOption (option: string, value: unknown): string {
  if (!isNonBlankString(value)) throw invalid(option, 'expected a non-empty string')
  return value
}

/** super.AI's API base URL, or `fallback` when it is undefined. */
export function baseUrlOption<F extends string | undefined> (option: string, value: unknown, fallback: F): string | F {
  if (value === undefined) return fallback
  if (!isHttpUrl(value)) throw invalid(option, 'expected an absolute http(s) URL')
  return value
}

/** super.AI project (app) ids: a non-empty array of non-blank strings, each kept once, frozen. */
export function appIdsOption (option: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isNonBlankString)) {
    throw invalid(option, 'expected a non-empty array of project (app) ids')
  }
  return Object.freeze([...new Set(value)])
}
