import { Type, type Static } from '@sinclair/typebox'
import {
  BATCH_STATES, ENTITY_TYPES, JOB_ACTIONS, JOB_STATES,
  type BatchState, type EntityEventName, type EntityType, type JobAction, type JobState, type EntityValues, type EventName, type EventValues, type JobEventName
} from './events.js'

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

/**
 * A v2 callback as it arrives ("Job batch callbacks"): told apart by `version: "2"`, it names an entity
 * (`entityType`, `entityId`) instead of a job and carries no `uuid`. Values are open, as for job callbacks.
 */
export const BatchCallbackBodySchema = Type.Object({
  version: Type.Literal('2', { description: 'The callback schema: "2" for entity (batch) callbacks' }),
  entityType: Type.String({ minLength: 1, maxLength: 64, description: `What the callback is about: ${ENTITY_TYPES.join(', ')}, or a type added later` }),
  entityId: Type.String({ minLength: 1, maxLength: 128, description: 'The entity\'s id (for a batch, the batch uuid)' }),
  state: Type.String({ minLength: 1, maxLength: 64, description: `The entity's state; for a batch: ${BATCH_STATES.join(', ')}, or a value added later` }),
  appId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The project (app) uuid' }))
}, { additionalProperties: true, $id: 'SuperaiBatchCallbackBody', description: 'A super.AI v2 (batch) callback' })

export type BatchCallbackBody = Static<typeof BatchCallbackBodySchema>

/**
 * What the route declares, for @fastify/swagger: either shape. The plugin's validator does not try the
 * members in turn: it picks one by `version`, so a v2 callback is never refused for lacking a `uuid`.
 */
export const CallbackRouteBodySchema = Type.Union([CallbackBodySchema, BatchCallbackBodySchema], {
  description: 'A super.AI job callback, or a v2 callback (`"version": "2"`) about a batch'
})

/** Whether a body is to be read as a v2 callback: super.AI tells the formats apart by `version`. */
export const isV2Body = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { version?: unknown }).version === '2'

/** A callback as handlers receive it: id always a string, known values as literals, the flag a boolean. */
interface SuperaiCallbackFields {
  id: string
  uuid: string
  state: JobState
  action: JobAction
  postProcessingEnabled?: boolean
}

/** Everything in the body besides the documented fields is kept and handed on. */
export interface ExtraFields { readonly [property: string]: unknown }

export type SuperaiCallback = SuperaiCallbackFields & ExtraFields

/** A v2 callback as handlers receive it: known entity types and batch states as literals. */
interface SuperaiEntityCallbackFields {
  version: '2'
  entityType: EntityType
  entityId: string
  state: BatchState
  appId?: string
}

/**
 * What a handler of event `E` receives: the schema's static type with `state` and `action` (job events)
 * or `entityType` and `state` (v2 events) narrowed to that event's literals (`callback` and `entity`
 * handlers may also see a value added after this release).
 */
export type SuperaiEvent<E extends EventName = 'callback'> = E extends JobEventName
  ? Omit<SuperaiCallbackFields, 'state' | 'action'> & EventValues<E> & ExtraFields
  : E extends EntityEventName
    ? Omit<SuperaiEntityCallbackFields, 'entityType' | 'state'> & EntityValues<E> & ExtraFields
    : never

/** Any accepted callback: a job callback (`SuperaiEvent`) or a v2 one (`SuperaiEvent<'entity'>`). */
export type AnySuperaiEvent = SuperaiEvent | SuperaiEvent<'entity'>

/** Whether an accepted callback is a v2 (entity) one; job callbacks never carry `version: "2"`. */
export const isEntityEvent = (event: AnySuperaiEvent): event is SuperaiEvent<'entity'> => event.version === '2'

export const CallbackAcceptedSchema = Type.Object({
  ok: Type.Literal(true),
  duplicate: Type.Boolean({ description: 'true when this delivery repeated a callback already processed' }),
  superseded: Type.Optional(Type.Literal(true, {
    description: 'with the superseded: "skip" option: a later state of the job was already processed, so no handler ran'
  }))
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

/** The fields that identify a callback in a log line: never the whole body. */
export function logFieldsOf (event: AnySuperaiEvent): Readonly<Record<string, string | undefined>> {
  return isEntityEvent(event)
    ? { entityType: event.entityType, entityId: event.entityId, state: event.state, appId: event.appId }
    : { uuid: event.uuid, id: event.id, state: event.state, action: event.action }
}
