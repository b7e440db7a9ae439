import type { FastifySchemaCompiler } from 'fastify'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import { codes } from '../errors.js'

/**
 * The plugin validates with its own compiled TypeBox check, whatever the host's AJV settings: no
 * coercion, no removal of extra properties. The route schema stays declared for @fastify/swagger.
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema }) => {
  // only the body has a schema, and it is a TypeBox one
  const check = TypeCompiler.Compile(schema as TSchema)
  return (data: unknown) => {
    if (check.Check(data)) return { value: data }
    const first = check.Errors(data).First()
    const where = first === undefined || first.path === '' ? 'body' : first.path
    return { error: new codes.FST_SUPERAI_INVALID_BODY(`${where}: ${first?.message ?? 'invalid'}`) }
  }
}
