import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { createSandbox, type SandboxOptions } from '../../src/sandbox/index.js'
import { resolveSandboxOptions, SANDBOX_DEFAULTS } from '../../src/sandbox/options.js'

t.test('defaults: a free port, a random key, the documented step, many tries', async (t) => {
  const resolved = resolveSandboxOptions()
  t.match(resolved, { port: 0, apiKey: /^sandbox-[\w-]{24}$/, step: 300, giveUpAfter: SANDBOX_DEFAULTS.giveUpAfter, duplicates: 0.1, callbackUrl: undefined, signKey: undefined })
  t.not(resolveSandboxOptions().apiKey, resolved.apiKey, 'a new key each time')
  t.type(resolved.seed, 'number')
})

t.test('invalid options fail with FST_SUPERAI_INVALID_OPTION naming the option, never quoting a key', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
  const ecPublic = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey
  const bad: Array<[unknown, RegExp]> = [
    ['nope', /"options": expected an options object/],
    [{ port: 70_000 }, /"port"/],
    [{ port: 1.5 }, /"port"/],
    [{ apiKey: '' }, /"apiKey"/],
    [{ apiKey: 'two words' }, /"apiKey"/],
    [{ callbackUrl: 'https://example.com/no-slash' }, /"callbackUrl".*trailing slash/],
    [{ duplicates: 1.5 }, /"duplicates"/],
    [{ duplicates: Number.NaN }, /"duplicates"/],
    [{ giveUpAfter: 0 }, /"giveUpAfter"/],
    [{ step: -1 }, /"step"/],
    [{ seed: '' }, /"seed"/],
    [{ seed: 1.5 }, /"seed"/],
    [{ postProcessing: 0.6, failures: 0.6 }, /"failures".*at most 1/],
    [{ retryDelay: -5 }, /"retryDelay"/],
    [{ signKey: 'not a key' }, /"signKey": .*not a PEM private key/],
    [{ signKey: rsa }, /"signKey": .*not an EC one/],
    [{ signKey: ecPublic }, /"signKey": .*not a private key/],
    [{ signKey: 42 }, /"signKey"/],
    [{ stepp: 1 }, /"stepp": unknown option/]
  ]
  for (const [options, message] of bad) {
    await t.rejects(createSandbox(options as SandboxOptions), { code: 'FST_SUPERAI_INVALID_OPTION', message }, JSON.stringify(options) ?? String(options))
  }
})
