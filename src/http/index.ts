/**
 * HTTP adapters for girder modules: Fastify plugins and Node `(req, res, next)`
 * middleware.
 *
 * @module http
 */

export * from './auth.js';
export * from './ratelimit.js';
