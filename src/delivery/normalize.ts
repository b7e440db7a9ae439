import { isBatchState, isEntityType, isJobAction, isJobState, isJobStatus, type JobStatus, type UnknownValue } from '../events.js'
import type { AnySuperaiEvent, BatchCallbackBody, CallbackBody, SuperaiEvent } from '../schema.js'

/** A field whose value the documents do not list. */
interface UnknownField {
  readonly field: 'state' | 'action' | 'entityType'
  readonly value: string
}

interface Normalized<E extends AnySuperaiEvent = SuperaiEvent> {
  readonly event: E
  /** The fields whose value is not documented, for the warning and for `unknownValues: 'reject'`. */
  readonly unknown: readonly UnknownField[]
}

/** `post_processed`, `Post Processed` and `POST PROCESSED` all mean the documented `POST PROCESSED`. */
export function normalizeValue (value: string): string {
  return value.trim().replace(/[_\s]+/g, ' ').toUpperCase()
}

/** The documented spelling of a value, or undefined; the common case, already documented, costs one lookup. */
function documented<T extends string> (value: string, isDocumented: (value: string) => value is T): T | undefined {
  if (isDocumented(value)) return value
  const normalized = normalizeValue(value)
  return isDocumented(normalized) ? normalized : undefined
}

/** A job object's `status` in callback spelling (`POST_PROCESSED` -> `POST PROCESSED`); an undocumented one normalised all the same. */
export function normalizeStatus (status: string): JobStatus | UnknownValue {
  return documented(status, isJobStatus) ?? normalizeValue(status)
}

const NOTHING_UNKNOWN: Normalized['unknown'] = Object.freeze([])

/** `partial failure`, `Partial_Failure` and `PARTIAL_FAILURE` all mean the documented `PARTIAL_FAILURE`. */
const batchSpelling = (value: string): string => value.trim().replace(/[_\s]+/g, '_').toUpperCase()

/** From the wire shape to the handler shape; a body that passed the schema always normalises. */
export function normalizeCallback (body: CallbackBody): Normalized {
  const state = documented(body.state, isJobState)
  const action = documented(body.action, isJobAction)
  const unknown = state !== undefined && action !== undefined
    ? NOTHING_UNKNOWN
    : [
        ...(state === undefined ? [{ field: 'state' as const, value: body.state }] : []),
        ...(action === undefined ? [{ field: 'action' as const, value: body.action }] : [])
      ]

  // one copy of the body: the fields below are replaced where they stand
  const event = {
    ...body,
    id: String(body.id),
    uuid: body.uuid.toLowerCase(),
    // an undocumented value is handed on exactly as received
    state: state ?? body.state,
    action: action ?? body.action
  } as SuperaiEvent
  const { postProcessingEnabled } = body
  if (postProcessingEnabled !== undefined) {
    (event as { postProcessingEnabled?: boolean }).postProcessingEnabled = postProcessingEnabled === true || postProcessingEnabled === 'true'
  }
  return { event, unknown }
}

/**
 * A v2 callback, from the wire shape to the handler shape: a documented entity type or batch state in
 * any case or separator becomes its documented spelling; an undocumented one is handed on as received.
 */
export function normalizeEntityCallback (body: BatchCallbackBody): Normalized<SuperaiEvent<'entity'>> {
  const lowered = body.entityType.trim().toLowerCase()
  const entityType = isEntityType(lowered) ? lowered : undefined
  const spelled = entityType === 'batch' ? batchSpelling(body.state) : undefined
  const state = spelled !== undefined && isBatchState(spelled) ? spelled : undefined
  const unknown: UnknownField[] = []
  if (entityType === undefined) unknown.push({ field: 'entityType', value: body.entityType })
  else if (state === undefined) unknown.push({ field: 'state', value: body.state })
  const event = { ...body, entityType: entityType ?? body.entityType, state: state ?? body.state } as SuperaiEvent<'entity'>
  return { event, unknown: unknown.length === 0 ? NOTHING_UNKNOWN : unknown }
}
