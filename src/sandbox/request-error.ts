/** Refused input or a request the sandbox cannot serve, answered with this status and `{ message }`. */
export class RequestError extends Error {
  constructor (readonly status: 400 | 403 | 404 | 409 | 413 | 415, message: string) {
    super(message)
  }
}
