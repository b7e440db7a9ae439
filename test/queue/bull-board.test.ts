import Fastify from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import { isExecutable, onPath, testNeeding, type Requirement } from '../helpers/requirements.js'
import superaiCallbacks, { defaultIdempotencyKey } from '../../src/index.js'
import { encodeJobId } from '../../src/queue/job-id.js'
import { mountBullBoard } from '../../examples/bull-board.js'
import { REDIS_URL, callbackBody, cleanUpAtTeardown, uniquePrefix } from '../helpers/callbacks.js'
import { removeQueueAtTeardown, uniqueQueue, waitFor } from '../helpers/queue.js'

/** Debian's `chromium` package (or `CHROMIUM_PATH`); CI installs it (.ci/run). Never a browser download. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? onPath('chromium') ?? '/usr/bin/chromium'
const BROWSER: Requirement = {
  what: `headless Chromium (${CHROMIUM})`,
  install: 'Debian\'s chromium (apt-get install chromium), or set CHROMIUM_PATH to a Chromium',
  found: isExecutable(CHROMIUM)
}
const BASE_PATH = '/admin/queues'

async function launch (): Promise<Browser> {
  try {
    // as root (CI) Chromium's own sandbox cannot start; the pages are our own
    return await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  } catch (err) {
    throw new Error(`headless Chromium did not start from ${CHROMIUM} (apt-get install chromium): ${err instanceof Error ? err.message : String(err)}`)
  }
}

/** Opens a job's page the way a user does: from the queue page of `status`, through bull-board's own link. */
async function openJob (page: Page, base: string, queue: string, status: 'completed' | 'failed', jobId: string): Promise<string> {
  await page.goto(`${base}${BASE_PATH}/queue/${queue}?status=${status}`)
  const link = page.locator(`a[href^="${BASE_PATH}/queue/${queue}/"]`, { hasText: jobId }).first()
  await link.waitFor({ timeout: 15_000 })
  await link.click()
  await page.waitForURL((url) => url.pathname.startsWith(`${BASE_PATH}/queue/${queue}/`), { timeout: 15_000 })
  // the job page is drawn once bull-board's API answered for this id: its card, or "Job Not found"
  await page.locator(`text=${jobId}`).or(page.locator('text=Job Not found')).first().waitFor({ timeout: 15_000 })
  return await page.locator('main').innerText()
}

await testNeeding(BROWSER, 'bull-board, in headless Chromium, opens the queue, completed jobs whatever their key, and a dead letter with its reason', async (t) => {
  const queue = uniqueQueue({ attempts: 2 })
  removeQueueAtTeardown(t, queue)
  const keyPrefix = uniquePrefix('bull-board')
  cleanUpAtTeardown(t, keyPrefix)
  const oddKey = (uuid: string): string => `{tenant}/orders 42/été ${uuid}`
  const longKey = (uuid: string): string => `${'order/'.repeat(30)}${uuid}`

  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(superaiCallbacks, {
    redis: REDIS_URL,
    keyPrefix,
    ttl: 600,
    queue,
    idempotencyKey: (event) => event.id === 'odd' ? oddKey(event.uuid) : event.id === 'long' ? longKey(event.uuid) : defaultIdempotencyKey(event)
  })
  const keys = new Map<string, string>()
  app.superai.on('callback', async (event, context) => {
    keys.set(event.id, context.key)
    if (event.id === 'fail') throw new Error('the database is down')
  })
  await mountBullBoard(app, BASE_PATH)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })

  for (const id of ['plain', 'odd', 'long', 'fail']) {
    const answer = await fetch(`${base}/superai/callbacks/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(callbackBody({ id })) })
    t.equal(answer.status, 202, `${id}: queued`)
  }
  t.ok(await waitFor(() => app.superai.stats().processed === 3 && app.superai.stats().deadLettered === 1, 20_000), 'three completed, one dead letter')
  const jobIdOf = (id: string): string => encodeJobId(keys.get(id) ?? '')
  // a state change's default key is the job's hash tag and its state's letter: `{<22 base64url>}C`, the braces escaped
  t.match(jobIdOf('plain'), /^cb\.test\.bull-board\.\d+\.[0-9a-f]{8}\.~7B[A-Za-z0-9_-]{22}~7DC$/, 'the default key reads in its id')
  t.match(jobIdOf('long'), /~~[A-Za-z0-9_-]{22}$/, 'a long key: a head and a digest')

  const browser = await launch()
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })

  await page.goto(`${base}${BASE_PATH}/queue/${queue.name}`)
  await page.locator(`text=${jobIdOf('fail')}`).first().waitFor({ timeout: 15_000 })
  const queuePage = await page.locator('main').innerText()
  for (const id of ['plain', 'odd', 'long', 'fail']) t.match(queuePage, jobIdOf(id), `the queue page lists ${id}`)

  for (const id of ['plain', 'odd', 'long']) {
    const text = await openJob(page, base, queue.name, 'completed', jobIdOf(id))
    t.notMatch(text, /Job Not found/i, `${id}: bull-board found the job`)
    t.match(text, jobIdOf(id), `${id}: its page shows the job`)
    t.match(text, keys.get(id) ?? '?', `${id}: and its exact key, in the job data`)
  }

  const letter = await openJob(page, base, queue.name, 'failed', jobIdOf('fail'))
  t.notMatch(letter, /Job Not found/i, 'the dead letter opens')
  t.match(letter, 'Try 2 of 2 failed (1 of 1 callback handlers failed: the database is down); the callback is now a dead letter, kept for 10 min',
    'its reason says what happened and what comes next')
  t.match(letter, 'superai-callbacks dead-letters replay')
})
