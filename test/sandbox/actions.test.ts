import Fastify from 'fastify'
import t from 'tap'
import superaiCallbacks from '../../src/index.js'
import { createSuperaiClient } from '../../src/client/client.js'
import { createSandbox } from '../../src/sandbox/index.js'

const APP = 'app-actions'

t.test('every documented action, produced through the sandbox\'s API alone, passes verify and reaches its typed event once', async (t) => {
  // every callback delivered twice: once is the receiver's doing, not the sender's
  const sandbox = await createSandbox({ step: 20, duplicates: 1, seed: 'actions' })
  t.teardown(() => sandbox.close())
  const app = Fastify()
  // verify asks the sandbox about each callback: every action's state must agree with the job's
  await app.register(superaiCallbacks, { verify: { apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl } })
  t.teardown(() => app.close())
  const fired: Record<string, string[]> = {}
  const record = (name: string) => async (event: { uuid: string, state: string }) => { (fired[name] ??= []).push(`${event.uuid}@${event.state}`) }
  app.superai.onJobCompleted(record('job.completed'))
  app.superai.onJobReviewed(record('job.reviewed'))
  app.superai.onJobEdited(record('job.edited'))
  app.superai.onJobTagAdded(record('job.tagAdded'))
  app.superai.onJobTagRemoved(record('job.tagRemoved'))
  app.superai.onJobAccepted(record('job.accepted'))
  app.superai.onJobDeclined(record('job.declined'))
  const address = await app.listen({ port: 0, host: '127.0.0.1' })

  const client = createSuperaiClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl, retries: 0 })
  const submitted = await client.submitJobs(APP, { inputs: [{ n: 1 }, { n: 2 }], callbackUrl: `${address}/superai/callbacks/` })
  const [first, second] = (await client.listJobs(APP)).jobs.map((job) => String(job.uuid))
  const deadline = Date.now() + 10_000
  while ((await client.listJobs(APP, { statusIn: ['COMPLETED'] })).jobs.length < 2) {
    if (Date.now() > deadline) throw new Error('the jobs did not complete')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(submitted.batchId)

  await client.addTags(APP, String(first), 'urgent')                     // TAG ADDED
  await client.removeTags(APP, 'urgent', { idSearch: String(first) })     // TAG REMOVED
  await client.reviewJob(String(first), { response: { total: 7 } })        // EDITED (and the job REVIEWED)
  await client.reviewJob(String(first), { correct: true })                 // ACCEPTED
  await client.reviewJob(String(second), { correct: false })               // DECLINED (and the job REVIEWED)
  await sandbox.settled()
  fired['job.completed']?.sort()
  fired['job.reviewed']?.sort()
  t.same(fired, {
    'job.completed': [`${first}@COMPLETED`, `${second}@COMPLETED`].sort(),
    'job.tagAdded': [`${first}@COMPLETED`],
    'job.tagRemoved': [`${first}@COMPLETED`],
    'job.reviewed': [`${first}@REVIEWED`, `${second}@REVIEWED`].sort(),
    'job.edited': [`${first}@REVIEWED`],
    'job.accepted': [`${first}@REVIEWED`],
    'job.declined': [`${second}@REVIEWED`]
  }, 'each once, with the job\'s state when it happened')
  t.ok(sandbox.deliveries.filter((delivery) => delivery.copy !== 'original').length >= 7, 'and every one was delivered twice')
  t.ok(sandbox.deliveries.every((delivery) => delivery.outcome === 'delivered'), 'none refused for good')
  t.equal(app.superai.stats().rejected, 0, 'verify refused none')
  t.match(await client.getJobResponse(String(first)), { response: { total: 7 } })
})
