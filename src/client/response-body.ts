/**
 * An HTTP answer's body as the API client and the CLI report it: parsed JSON when it parses, else the
 * text (an error page, a proxy's message), undefined when there is none.
 */
export async function readResponseBody (response: Response): Promise<unknown> {
  const text = await response.text()
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
