import { RequestError } from './request-error.js'

/**
 * A submission's `inputsFileUrl`: "a URL of a JSON file holding the inputs", fetched as super.AI does before
 * it creates the jobs. http(s) and `data:` URLs; the file must be a JSON array (of input objects).
 */

const LIMIT = 10 * 1024 * 1024
const TIMEOUT_MS = 10_000

export async function fetchInputsFile (url: string): Promise<unknown[]> {
  if (!/^(https?:|data:)/i.test(url) || !URL.canParse(url)) throw new RequestError(400, 'inputsFileUrl must be an absolute http(s) or data: URL')
  let text: string
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'follow' })
    if (!response.ok) throw new RequestError(400, `inputsFileUrl answered ${response.status}`)
    const length = Number(response.headers.get('content-length') ?? 0)
    if (length > LIMIT) throw new RequestError(400, `inputsFileUrl holds more than ${LIMIT} bytes`)
    text = await response.text()
  } catch (error) {
    if (error instanceof RequestError) throw error
    throw new RequestError(400, `inputsFileUrl could not be fetched: ${(error as Error).message}`)
  }
  if (text.length > LIMIT) throw new RequestError(400, `inputsFileUrl holds more than ${LIMIT} bytes`)
  let inputs: unknown
  try {
    inputs = JSON.parse(text)
  } catch {
    throw new RequestError(400, 'inputsFileUrl is not a JSON file')
  }
  if (!Array.isArray(inputs)) throw new RequestError(400, 'inputsFileUrl must hold a JSON array of input objects')
  return inputs
}
