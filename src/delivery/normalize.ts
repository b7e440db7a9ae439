import { isJobAction, isJobState } from '../events.js'
import type { CallbackBody, SuperaiEvent } from '../schema.js'

export interface Normalized {
  readonly event: SuperaiEvent
  /** The fields whose value is not documented, for the warning and for `unknownValues: 'reject'`. */
  readonly unknown: ReadonlyArray<{ readonly field: 'state' | 'action', readonly value: string }>
}

/** `post_processed`, `Post Processed` and `POST PROCESSED` all mean the documented `POST PROCESSED`. */
export function normalizeValue (value: string): string {
  return value.trim().replace(/[_\s]+/g, ' ').toUpperCase()
}

/** From the wire shape to the handler shape; a body that passed the schema always normalises. */
export function normalizeCallback (body: CallbackBody): Normalized {
  const { postProcessingEnabled, ...rest } = body
  const state = normalizeValue(body.state)
  const action = normalizeValue(body.action)
  const unknown: Array<{ field: 'state' | 'action', value: string }> = []
  if (!isJobState(state)) unknown.push({ field: 'state', value: body.state })
  if (!isJobAction(action)) unknown.push({ field: 'action', value: body.action })

  const event: SuperaiEvent = {
    ...rest,
    id: String(body.id),
    uuid: body.uuid.toLowerCase(),
    // an undocumented value is handed on exactly as received
    state: isJobState(state) ? state : body.state,
    action: isJobAction(action) ? action : body.action,
    ...(postProcessingEnabled === undefined ? {} : { postProcessingEnabled: postProcessingEnabled === true || postProcessingEnabled === 'true' })
  }
  return { event, unknown }
}
