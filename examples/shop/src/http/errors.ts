// One error handler for the whole app: every failure becomes a JSON body
// `{statusCode, error, code, message, details?}`; only real bugs are 500s (and logged).
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import { isGirderError } from 'girder/core';
import { authErrorResponse } from 'girder/http';
import { AuthError } from 'girder/jwt';
import { type Logger, logError } from 'girder/logger';
import { RateLimitedError } from 'girder/ratelimit';
import { ShopError } from '../errors.js';

/** Friendlier names for Fastify's own client-error codes. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_BAD_URL: 'BAD_URL',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

export const errorBody = (status: number, code: string, message: string, details?: unknown) => ({
  statusCode: status,
  error: STATUS_CODES[status] ?? 'Error',
  code,
  message,
  ...(details !== undefined && { details }),
});

export function installErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (err instanceof ShopError) {
      return reply.code(err.status).send(errorBody(err.status, err.code, err.message, err.details));
    }
    if (err instanceof RateLimitedError) {
      return reply
        .code(429)
        .header('retry-after', Math.max(1, Math.ceil(err.retryAfterMs / 1000)))
        .send(
          errorBody(429, 'RATE_LIMITED', 'too many requests; try again later', {
            retryAfterMs: err.retryAfterMs,
          }),
        );
    }
    if (err instanceof AuthError) {
      const { status, headers, body } = authErrorResponse(err);
      return reply.code(status).headers(headers).send(body);
    }
    if (isGirderError(err, 'CIRCUIT_OPEN')) {
      return reply
        .code(503)
        .send(
          errorBody(503, 'SERVICE_UNAVAILABLE', 'a dependency is unavailable; try again shortly'),
        );
    }
    const status = (err as FastifyError).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code = (err as FastifyError).code;
      const name =
        (code && FASTIFY_CODES[code]) ??
        (err instanceof SyntaxError ? 'INVALID_JSON' : 'BAD_REQUEST');
      return reply.code(status).send(errorBody(status, name, err.message));
    }
    logError(logger, err, 'request failed', {
      method: request.method,
      url: request.url,
      reqId: request.id,
    });
    return reply.code(500).send(errorBody(500, 'INTERNAL', 'something went wrong on our side'));
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?', 1)[0]}`),
      ),
  );
}
