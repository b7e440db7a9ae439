import { Type, type Static } from '@sinclair/typebox'
import { JOB_ACTIONS, JOB_STATES, type EventName, type EventValues } from './events.js'

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

/**
 * The callback body as it arrives on the wire. Structure is strict, values are open: `state` and `action`
 * are any short string here so that a value super.AI adds tomorrow still reaches `callback` handlers.
 * A pattern, not `format: 'uuid'`, so that it checks the same under TypeBox and any host's AJV.
 */
export const CallbackBodySchema = Type.Object({
  id: Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Integer({ minimum: 0 })], {
    description: 'Job id as shown in the super.AI dashboard (numeric in the SDK; handed to handlers as a string)'
  }),
  uuid: Type.String({ pattern: UUID_PATTERN, description: 'UUID of the job' }),
  state: Type.String({ minLength: 1, maxLength: 64, description: `Job state: ${JOB_STATES.join(', ')}, or a value added later` }),
  action: Type.String({ minLength: 1, maxLength: 64, description: `What triggered the callback: ${JOB_ACTIONS.join(', ')}, or a value added later` }),
  postProcessingEnabled: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('true'), Type.Literal('false')], {
    description: 'Documented as a string; booleans are accepted too'
  }))
}, { additionalProperties: true, $id: 'SuperaiCallbackBody', description: 'A super.AI job callback' })

export type CallbackBody = Static<typeof CallbackBodySchema>

/** A callback as handlers receive it: id always a string, known values as literals, the flag a boolean. */
export const SuperaiCallbackSchema = Type.Object({
  id: Type.String(),
  uuid: Type.String(),
  state: Type.Union(JOB_STATES.map((state) => Type.Literal(state))),
  action: Type.Union(JOB_ACTIONS.map((action) => Type.Literal(action))),
  postProcessingEnabled: Type.Optional(Type.Boolean())
}, { additionalProperties: true })

/** Everything in the body besides the documented fields is kept and handed on. */
export interface ExtraFields { readonly [property: string]: unknown }

export type SuperaiCallback = Static<typeof SuperaiCallbackSchema> & ExtraFields

/**
 * What a handler of event `E` receives: the schema's static type with `state` and `action` narrowed to
 * that event's literals (`callback` handlers may also see a value added after this release).
 */
export type SuperaiEvent<E extends EventName = 'callback'> =
  Omit<Static<typeof SuperaiCallbackSchema>, 'state' | 'action'> & EventValues<E> & ExtraFields

export const CallbackAcceptedSchema = Type.Object({
  ok: Type.Literal(true),
  duplicate: Type.Boolean({ description: 'true when this delivery repeated a callback already processed' })
})

export const CallbackQueuedSchema = Type.Object({
  ok: Type.Literal(true),
  duplicate: Type.Literal(false),
  queued: Type.Literal(true, { description: 'queue mode: stored durably; a worker runs the handlers' })
})

export const ErrorReplySchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String()
})
