import { test } from 'tap'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import superaiCallbacks from '../src/index.js'

test('the callback route and its schemas are visible to @fastify/swagger', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 'test', version: '1.0.0' } } })
  await app.register(superaiCallbacks, { path: '/hooks/superai/' })
  await app.ready()
  const spec = app.swagger() as unknown as { paths: Record<string, Record<string, {
    requestBody: { content: Record<string, { schema: { properties: Record<string, unknown>, required: string[] } }> }
    responses: Record<string, unknown>
  }>> }
  const operation = spec.paths['/hooks/superai/']?.post
  t.ok(operation, 'POST /hooks/superai/ documented')
  const schema = operation?.requestBody.content['application/json']?.schema
  t.same(Object.keys(schema?.properties ?? {}).sort(), ['action', 'id', 'postProcessingEnabled', 'state', 'uuid'])
  t.same(schema?.required.sort(), ['action', 'id', 'state', 'uuid'])
  t.ok(operation?.responses['200'], 'the 200 reply is documented')
})
