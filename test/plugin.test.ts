import Fastify, { type FastifyInstance } from 'fastify'
import { test } from 'tap'
import superaiCallbacks from '../src/index.js'
import { callbackBody } from './helpers/callbacks.js'

// docs/production.md ("Where app.superai exists") tells these; each is checked here

test('app.superai exists once `await app.register(...)` has resolved, not before', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const registering = app.register(superaiCallbacks)
  t.equal(app.superai, undefined, 'not yet while register is pending')
  t.equal(app.hasDecorator('superai'), false)
  await registering
  t.type(app.superai.onJobCompleted, 'function', 'there after the await')
})

test('registered at the root: the root and every context registered after it share one app.superai', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(superaiCallbacks)
  let seen: unknown
  await app.register(async (child) => { seen = child.superai })
  t.equal(seen, app.superai, 'fastify-plugin skips encapsulation: the decorator is the root\'s own')
})

test('registered inside a plugin: that context and its children have it, the root and siblings do not', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let inside: FastifyInstance['superai'] | undefined
  let grandchild: unknown
  let runs = 0
  await app.register(async (scope) => {
    await scope.register(superaiCallbacks, { path: '/scoped/' })
    inside = scope.superai
    scope.superai.onJobCompleted(() => { runs++ })
    await scope.register(async (child) => { grandchild = child.superai })
  })
  let sibling: unknown = 'unset'
  await app.register(async (other) => { sibling = other.superai })
  await app.ready()
  t.type(inside?.onJobCompleted, 'function', 'the registering context has it')
  t.equal(grandchild, inside, 'so do its children')
  t.equal(app.superai, undefined, 'the root does not')
  t.equal(sibling, undefined, 'nor a sibling context')
  const res = await app.inject({ method: 'POST', url: '/scoped/', payload: callbackBody() })
  t.equal(res.statusCode, 200, 'the route is served from the root all the same')
  t.equal(runs, 1)
})
