import t from 'tap'
import { main } from '../../src/cli/main.js'
import { createSuperaiClient } from '../../src/client/client.js'

t.test('sandbox --json prints one JSON line { baseUrl, apiKey, port, seed } that a script can use', async (t) => {
  const stop = new AbortController()
  let out = ''
  let err = ''
  const running = main(['sandbox', '--json', '--step', '0', '--seed', '9', '--api-key', 'json-key'], {
    out: (text) => { out += text }, err: (text) => { err += text }, signal: stop.signal
  }, '0.0.0')
  const deadline = Date.now() + 10_000
  while (!out.includes('\n') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(out.split('\n').length, 2, 'one line')
  const line = JSON.parse(out) as { baseUrl: string, apiKey: string, port: number, seed: number }
  t.same(Object.keys(line), ['baseUrl', 'apiKey', 'port', 'seed'])
  t.match(line, { baseUrl: /^http:\/\/127\.0\.0\.1:\d+\/v1$/, apiKey: 'json-key', seed: 9 })
  t.equal(line.baseUrl, `http://127.0.0.1:${line.port}/v1`)
  const client = createSuperaiClient({ apiKey: line.apiKey, baseUrl: line.baseUrl, retries: 0 })
  t.match(await client.submitJobs('app', { inputs: [{}] }), { uuid: String }, 'the printed URL and key work')
  stop.abort()
  t.equal(await running, 0)
  t.equal(err, '')
})
