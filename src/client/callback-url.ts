import { codes } from '../errors.js'

/** The outcome of checking a callback URL: the normalised URL, or the reason super.AI would refuse it. */
export type CallbackUrlCheck =
  | { readonly ok: true, readonly url: string }
  | { readonly ok: false, readonly reason: string }

const ALLOWED_PROTOCOLS: ReadonlySet<string> = new Set(['http:', 'https:'])

/**
 * Checks a callback URL against super.AI's rules (fully qualified `http://` or `https://`, path ending in `/`)
 * and against what would leak or be dropped on the way (credentials, a fragment). Never throws.
 */
export function checkCallbackUrl (input: string | URL): CallbackUrlCheck {
  // Config often comes from untyped JSON or env: check at run time what the type promises.
  if (typeof input !== 'string' && !(input instanceof URL)) return { ok: false, reason: 'it is not a string' }
  const raw = typeof input === 'string' ? input.trim() : input.href
  if (raw === '') return { ok: false, reason: 'it is empty' }
  if (/\s/.test(raw)) return { ok: false, reason: 'it contains whitespace' }
  if (raw.startsWith('/') || !/^[a-z][a-z0-9+.-]*:/i.test(raw)) {
    return { ok: false, reason: 'it is not absolute: it must start with http:// or https://' }
  }

  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'it is not a valid absolute URL' }
  }

  if (!ALLOWED_PROTOCOLS.has(url.protocol)) {
    return { ok: false, reason: `the protocol is "${url.protocol}", it must be http: or https:` }
  }
  // `new URL('https:example.com/cb/')` parses; super.AI expects the `//` authority form.
  if (!/^https?:\/\//i.test(raw)) return { ok: false, reason: 'it must start with http:// or https://' }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'it contains credentials (user:password@); pass secrets another way' }
  }
  // An empty fragment (`.../#`) leaves `hash` empty but still shows in `href`.
  if (url.hash !== '' || url.href.endsWith('#')) {
    return { ok: false, reason: 'it has a fragment (#...), which is never sent to the server' }
  }
  if (!url.pathname.endsWith('/')) {
    return { ok: false, reason: `the path "${url.pathname}" must end with a trailing slash "/"` }
  }
  return { ok: true, url: url.href }
}

/**
 * Returns the normalised callback URL, or throws `FST_SUPERAI_INVALID_CALLBACK_URL` saying what is wrong.
 * Usable in config validation as well as before submitting a job.
 */
export function validateCallbackUrl (input: string | URL): string {
  const check = checkCallbackUrl(input)
  if (!check.ok) throw new codes.FST_SUPERAI_INVALID_CALLBACK_URL(redactCredentials(String(input)), check.reason)
  return check.url
}

/** Error messages end up in logs: never repeat the `user:password@` part of a URL. */
function redactCredentials (raw: string): string {
  return raw.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@')
}

/** Boolean form of {@link checkCallbackUrl}, for filters and conditionals. */
export function isValidCallbackUrl (input: string | URL): boolean {
  return checkCallbackUrl(input).ok
}
