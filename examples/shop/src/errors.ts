// Errors the services throw; the HTTP layer turns each into its status and a JSON body
// `{statusCode, error, code, message, details?}`.

/** A failure the client caused or can act on, with a stable `code` and an HTTP status. */
export class ShopError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ShopError';
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new ShopError(400, code, message, details);
export const notFound = (code: string, message: string, details?: Record<string, unknown>) =>
  new ShopError(404, code, message, details);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new ShopError(409, code, message, details);
export const unavailable = (code: string, message: string, details?: Record<string, unknown>) =>
  new ShopError(503, code, message, details);
