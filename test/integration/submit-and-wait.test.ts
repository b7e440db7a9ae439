/**
 * A test as a user of the package writes one: the sandbox as super.AI, the app under test submitting a
 * job, and `waitFor` instead of a sleep until the callback was handled; real HTTP both ways.
 */
import { test } from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import superaiCallbacks from '../../src/index.js'
import { createSandbox } from '../../src/sandbox/index.js'

test('submit, waitFor, then assert: no sleep, whatever the sandbox\'s pace and duplicates', async (t) => {
  const sandbox = await createSandbox({ step: 20, duplicates: 1, failures: 0 })
  t.teardown(() => sandbox.close())
  const app = Fastify()
  await app.register(superaiCallbacks, { api: { apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl } })
  t.teardown(() => app.close())
  // the code under test: a handler that keeps each completed job's label
  const labels = new Map<string, string>()
  const runs: string[] = []
  app.superai.onJobCompleted(async (event, context) => {
    runs.push(event.uuid)
    labels.set(event.uuid, (await context.output(Type.Object({ response: Type.Object({ label: Type.String() }) }))).response.label)
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })

  const { uuid } = await app.superai.api.submitJobs('demo-app', {
    inputs: [{ documentUrl: 'https://example.com/a.pdf' }],
    callbackUrl: app.superai.callbackUrl(address)
  })
  if (typeof uuid !== 'string') throw new Error('no uuid')
  t.same(await app.superai.waitFor(uuid, { states: ['COMPLETED'], timeout: 10_000 }), { uuid, state: 'COMPLETED' })
  t.equal(labels.get(uuid), 'sandbox', 'the handler had run when the wait resolved')
  await sandbox.settled()
  t.same(runs, [uuid], 'once, though the sandbox delivered every callback twice')
})
