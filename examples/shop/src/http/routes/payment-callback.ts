// The payment provider's callback: the signature is checked over the raw body before
// anything is parsed or believed.
import type { FastifyInstance } from 'fastify';
import { badRequest, ShopError } from '../../errors.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../../payments/signature.js';
import type { RouteContext } from '../context.js';
import { callbackBody } from '../schemas.js';
import { parse } from '../validation.js';

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** Registers the callback route in its own scope, where JSON bodies stay raw strings. */
export function callbackPlugin(context: RouteContext, paymentSecret: string) {
  const rejected = context.counters.callbackRejections;
  return async (app: FastifyInstance) => {
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );

    app.post('/api/payments/callback', async (request) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      const ok = verifySignature({
        secret: paymentSecret,
        body: raw,
        timestamp: header(request.headers[TIMESTAMP_HEADER]),
        signature: header(request.headers[SIGNATURE_HEADER]),
        now: context.clock.now(),
      });
      if (!ok) {
        rejected.inc({ reason: 'signature' });
        throw new ShopError(401, 'BAD_SIGNATURE', 'the callback signature is missing or wrong');
      }
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        rejected.inc({ reason: 'json' });
        throw badRequest('INVALID_JSON', 'the callback body is not JSON');
      }
      const event = parse(callbackBody, json, 'callback');
      return context.services.payments.handleCallback(event, raw);
    });
  };
}
