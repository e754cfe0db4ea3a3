// SMS routes (girder/sms): log in with a code, link a phone to an account, and the ops
// page's switch that makes a mock provider fail.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isGirderError } from 'girder/core';
import { tokenBody, tokenHeaders } from 'girder/http';
import type { TokenService } from 'girder/jwt';
import { RateLimitedError } from 'girder/ratelimit';
import { isE164 } from 'girder/sms';
import { z } from 'zod';
import type { ShopSms } from '../../compose/sms.js';
import { notFound, ShopError } from '../../errors.js';
import type { PhonesService } from '../../users/phones.js';
import type { RouteContext } from '../context.js';
import { parse } from '../validation.js';

/** An E.164 number; spaces, dashes, dots and brackets are dropped first (`+86 138-0000-0000`). */
const phone = z
  .string()
  .max(40)
  .transform((p) => p.replace(/[\s().-]/g, ''))
  .refine(isE164, 'phone must be an international number like +8613800000000');
const code = z
  .string()
  .trim()
  .regex(/^\d{4,10}$/, 'code must be the digits from the SMS');
const phoneBody = z.object({ phone });
const phoneCodeBody = z.object({ phone, code });
const providerParam = z.object({ name: z.string().max(64) });
const failingBody = z.object({ failing: z.boolean() });

/** What the SMS routes need beyond the route context. */
export interface SmsRouteParts {
  sms: ShopSms;
  phones: PhonesService;
  tokens: TokenService;
}

const LOGIN = 'login';
const linkPurpose = (userId: string) => `link:${userId}`;

/** Code refusals as API errors: 400 for a wrong, expired or burnt code, 429 for a resend too soon. */
function codeError(err: unknown): unknown {
  if (isGirderError(err, 'CODE_SEND_TOO_FREQUENT')) {
    const retryAfterMs = (err as unknown as { retryAfterMs: number }).retryAfterMs;
    return new ShopError(
      429,
      err.code,
      'a code was sent to this phone moments ago; wait before asking again',
      {
        retryAfterMs,
      },
    );
  }
  if (isGirderError(err, 'CODE_INVALID')) {
    const attemptsLeft = (err as unknown as { attemptsLeft: number }).attemptsLeft;
    return new ShopError(400, err.code, 'wrong code', { attemptsLeft });
  }
  if (isGirderError(err, 'CODE_EXPIRED')) {
    return new ShopError(400, err.code, 'no valid code for this phone: ask for a new one');
  }
  if (isGirderError(err, 'CODE_ATTEMPTS_EXCEEDED')) {
    return new ShopError(400, err.code, 'too many wrong codes: ask for a new one');
  }
  if (isGirderError(err, 'INVALID_PHONE')) {
    return new ShopError(
      400,
      err.code,
      'phone must be an international number like +8613800000000',
    );
  }
  return err;
}

async function rethrowing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw codeError(err);
  }
}

/** Per-IP, then per-phone quota on sending codes; 429 beyond either. */
async function checkSendLimits(sms: ShopSms, ip: string, to: string): Promise<void> {
  for (const [limiter, key] of [
    [sms.limits.perIp, `ip:${ip}`],
    [sms.limits.perPhone, `phone:${to}`],
  ] as const) {
    const decision = await limiter.limit(key);
    if (!decision.allowed) throw new RateLimitedError(key, decision);
  }
}

async function sendCode(sms: ShopSms, request: FastifyRequest, to: string, purpose: string) {
  await checkSendLimits(sms, request.ip, to);
  const sent = await rethrowing(() => sms.codes.send(to, purpose));
  return { sent: true, resendAfterMs: sent.resendAfterMs, expiresAt: sent.expiresAt };
}

/** Public: ask for a login code, and log in with it (the same token pair as a password login). */
export async function smsLoginRoutes(
  app: FastifyInstance,
  { services, config }: RouteContext,
  { sms, phones, tokens }: SmsRouteParts,
) {
  app.post('/api/users/login/sms/send', async (request, reply) => {
    const { phone: to } = parse(phoneBody, request.body, 'phone');
    // A phone linked to no account gets no SMS (nobody to log in; and no texts to strangers),
    // but the same answer, so the endpoint does not tell which numbers have accounts.
    if ((await phones.userOf(to)) === null) {
      await checkSendLimits(sms, request.ip, to);
      return reply.code(202).send({ sent: true, resendAfterMs: config.sms.resendAfterMs });
    }
    return reply.code(202).send(await sendCode(sms, request, to, LOGIN));
  });

  app.post('/api/users/login/sms/verify', async (request, reply) => {
    const body = parse(phoneCodeBody, request.body, 'login');
    await rethrowing(() => sms.codes.verify(body.phone, LOGIN, body.code));
    const userId = await phones.userOf(body.phone);
    const user = userId === null ? null : await services.users.get(userId);
    if (!user) throw new ShopError(401, 'LOGIN_FAILED', 'this phone is not linked to an account');
    const pair = await tokens.issue(user.id, {
      claims: { role: user.role },
      userAgent: request.headers['user-agent'],
    });
    return reply.headers(tokenHeaders(pair)).send(tokenBody(pair));
  });
}

/** Signed in: the account's phone, a code to link one, and linking it. */
export async function smsAccountRoutes(app: FastifyInstance, { sms, phones }: SmsRouteParts) {
  const userId = (request: FastifyRequest) => request.auth!.sub;

  app.get('/api/users/phone', async (request) => ({
    phone: await phones.phoneOf(userId(request)),
  }));

  app.post('/api/users/phone/code', async (request, reply) => {
    const { phone: to } = parse(phoneBody, request.body, 'phone');
    return reply.code(202).send(await sendCode(sms, request, to, linkPurpose(userId(request))));
  });

  app.post('/api/users/phone', async (request) => {
    const body = parse(phoneCodeBody, request.body, 'phone link');
    const id = userId(request);
    await rethrowing(() => sms.codes.verify(body.phone, linkPurpose(id), body.code));
    await phones.link(id, body.phone);
    return { phone: body.phone };
  });
}

/** Admin: make a mock provider fail (or recover), to watch failover and the queue work. */
export async function smsAdminRoutes(app: FastifyInstance, { sms }: SmsRouteParts) {
  app.post('/api/admin/sms/providers/:name', async (request) => {
    const { name } = parse(providerParam, request.params, 'provider');
    const { failing } = parse(failingBody, request.body, 'provider switch');
    const provider = sms.providers.find((p) => p.name === name);
    if (!provider) throw notFound('PROVIDER_NOT_FOUND', `no SMS provider ${name}`, { name });
    provider.setFailing(failing);
    return { name, failing: provider.failing };
  });
}
