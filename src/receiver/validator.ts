import type { FastifySchemaCompiler } from 'fastify'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import { codes } from '../errors.js'
import { BatchCallbackBodySchema, CallbackBodySchema, isV2Body } from '../schema.js'

type Check = (data: unknown) => { value: unknown } | { error: Error }

function compile (schema: TSchema): Check {
  const check = TypeCompiler.Compile(schema)
  return (data) => {
    if (check.Check(data)) return { value: data }
    const first = check.Errors(data).First()
    const where = first === undefined || first.path === '' ? 'body' : first.path
    return { error: new codes.FST_SUPERAI_INVALID_BODY(`${where}: ${first?.message ?? 'invalid'}`) }
  }
}

const checkJobCallback = compile(CallbackBodySchema)
const checkBatchCallback = compile(BatchCallbackBodySchema)

/**
 * The plugin validates with its own compiled TypeBox checks, whatever the host's AJV settings: no
 * coercion, no removal of extra properties. The route declares the union of both shapes for
 * @fastify/swagger; a body is checked against one of them, picked by `version` as super.AI tells the
 * formats apart, so the first error names what is wrong with that shape (never "uuid" for a v2 callback).
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = () =>
  (data: unknown) => isV2Body(data) ? checkBatchCallback(data) : checkJobCallback(data)
