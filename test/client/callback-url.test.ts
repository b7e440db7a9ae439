import t from 'tap'
import { checkCallbackUrl, isValidCallbackUrl, validateCallbackUrl } from '../../src/client/callback-url.js'
import { codes } from '../../src/errors.js'

t.test('accepts fully qualified http(s) URLs whose path ends with a slash, and normalises them', async (t) => {
  const cases: Array<[string | URL, string]> = [
    ['https://example.com/callbacks/', 'https://example.com/callbacks/'],
    ['http://127.0.0.1:3000/superai/callbacks/', 'http://127.0.0.1:3000/superai/callbacks/'],
    ['HTTPS://Example.COM/cb/', 'https://example.com/cb/'],
    ['  https://example.com/cb/  ', 'https://example.com/cb/'],
    ['https://example.com/cb/?token=abc', 'https://example.com/cb/?token=abc'],
    ['https://example.com', 'https://example.com/'],
    ['https://[::1]:8443/cb/', 'https://[::1]:8443/cb/'],
    [new URL('https://example.com/a/b/'), 'https://example.com/a/b/']
  ]
  for (const [input, expected] of cases) {
    t.equal(validateCallbackUrl(input), expected, String(input))
    t.same(checkCallbackUrl(input), { ok: true, url: expected })
    t.equal(isValidCallbackUrl(input), true)
  }
})

t.test('rejects what super.AI would refuse, saying what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['/superai/callbacks/', /not absolute/],
    ['example.com/callbacks/', /not absolute/],
    ['ftp://example.com/cb/', /protocol is "ftp:"/],
    ['mailto:someone@example.com', /protocol is "mailto:"/],
    ['https:example.com/cb/', /must start with http:\/\/ or https:\/\//],
    ['https://example.com/callbacks', /path "\/callbacks" must end with a trailing slash/],
    ['https://example.com/cb?x=/', /path "\/cb" must end with a trailing slash/],
    ['https://user:secret@example.com/cb/', /credentials/],
    ['https://token@example.com/cb/', /credentials/],
    ['https://example.com/cb/#section', /fragment/],
    ['https://example.com/cb/#', /fragment/],
    ['https://exa mple.com/cb/', /whitespace/],
    ['https://example.com:99999/cb/', /not a valid absolute URL/]
  ]
  for (const [input, reason] of cases) {
    const check = checkCallbackUrl(input)
    t.equal(check.ok, false, `${input} is rejected`)
    if (!check.ok) t.match(check.reason, reason, input)
    t.equal(isValidCallbackUrl(input), false)
    t.throws(() => validateCallbackUrl(input), {
      code: 'FST_SUPERAI_INVALID_CALLBACK_URL',
      statusCode: 400,
      message: reason
    }, input)
  }
})

t.test('the thrown error is the exported coded error, and never repeats credentials', async (t) => {
  const error = t.throws(() => validateCallbackUrl('https://user:hunter2@example.com/cb/'))
  t.ok(error instanceof codes.FST_SUPERAI_INVALID_CALLBACK_URL)
  t.notMatch(String((error as Error).message), /hunter2/)
  t.match((error as Error).message, /https:\/\/\*\*\*@example\.com\/cb\//)
})

t.test('a value that is not a string (untyped config) is reported, not thrown as a TypeError', async (t) => {
  for (const input of [undefined, null, 42, {}]) {
    const check = checkCallbackUrl(input as unknown as string)
    t.same(check, { ok: false, reason: 'it is not a string' })
    t.throws(() => validateCallbackUrl(input as unknown as string), { code: 'FST_SUPERAI_INVALID_CALLBACK_URL' })
  }
})
