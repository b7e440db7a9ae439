import { test } from 'tap'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import superaiCallbacks from '../../src/index.js'

interface ObjectSchema { properties: Record<string, unknown>, required: string[] }

test('the callback route and both of its body shapes are visible to @fastify/swagger', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 'test', version: '1.0.0' } } })
  await app.register(superaiCallbacks, { path: '/hooks/superai/' })
  await app.ready()
  const spec = app.swagger() as unknown as {
    paths: Record<string, Record<string, {
      requestBody: { content: Record<string, { schema: { anyOf: Array<{ $ref: string }> } }> }
      responses: Record<string, unknown>
    }>>
    components: { schemas: Record<string, ObjectSchema> }
  }
  const operation = spec.paths['/hooks/superai/']?.post
  t.ok(operation, 'POST /hooks/superai/ documented')
  const members = (operation?.requestBody.content['application/json']?.schema.anyOf ?? [])
    .map(({ $ref }) => spec.components.schemas[$ref.replace('#/components/schemas/', '')])
  t.equal(members.length, 2, 'a union of the job callback and the v2 callback')
  const [job, batch] = members
  t.same(Object.keys(job?.properties ?? {}).sort(), ['action', 'id', 'postProcessingEnabled', 'state', 'uuid'])
  t.same(job?.required.sort(), ['action', 'id', 'state', 'uuid'])
  t.same(Object.keys(batch?.properties ?? {}).sort(), ['appId', 'entityId', 'entityType', 'state', 'version'])
  t.same(batch?.required.sort(), ['entityId', 'entityType', 'state', 'version'])
  t.ok(operation?.responses['200'], 'the 200 reply is documented')
})
