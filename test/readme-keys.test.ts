import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { test } from 'tap'
import superaiCallbacks, { signCallback } from '../src/index.js'

/** The `openssl` lines of docs/security.md (signed callbacks end to end, which the README links), as written (comments dropped). */
async function readmeOpensslLines (): Promise<string[][]> {
  const readme = await readFile(new URL('../docs/security.md', import.meta.url), 'utf8')
  return readme.split('\n').filter((line) => line.startsWith('openssl ')).map((line) => line.replace(/#.*$/, '').trim().split(/\s+/))
}

function hasOpenssl (): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

test('the documented openssl lines make a key pair that signCallback signs with and the plugin verifies with', { skip: hasOpenssl() ? false : 'openssl is not on the PATH' }, async (t) => {
  const lines = await readmeOpensslLines()
  t.equal(lines.length, 3, 'three openssl lines: the key, its public key, its PKCS#8 form')
  const dir = await mkdtemp(join(tmpdir(), 'superai-readme-keys-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  for (const [command = '', ...args] of lines) execFileSync(command, args, { cwd: dir, stdio: 'pipe' })

  const sec1 = await readFile(join(dir, 'key.pem'), 'utf8')
  const pkcs8 = await readFile(join(dir, 'key-pkcs8.pem'), 'utf8')
  const publicPem = await readFile(join(dir, 'pub.pem'), 'utf8')
  t.match(sec1, /^-----BEGIN EC PRIVATE KEY-----/, 'key.pem is SEC1')
  t.match(pkcs8, /^-----BEGIN PRIVATE KEY-----/, 'key-pkcs8.pem is PKCS#8')
  t.match(publicPem, /^-----BEGIN PUBLIC KEY-----/)

  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, { signature: { publicKey: await readFile(join(dir, 'pub.pem')) } })
  let runs = 0
  app.superai.onJobCompleted(() => { runs++ })
  for (const key of [sec1, pkcs8]) {
    const signed = signCallback({ id: '1', uuid: crypto.randomUUID(), state: 'COMPLETED', action: 'RESOLVED' }, key)
    const reply = await app.inject({ method: 'POST', url: '/superai/callbacks/', headers: signed.headers, payload: signed.body })
    t.equal(reply.statusCode, 200)
  }
  t.equal(runs, 2)
})
