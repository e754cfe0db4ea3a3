import { describe, expect, it } from 'vitest';
import { memorySessionStore, tokenService } from '../../src/jwt/index.js';
import {
  memorySms,
  type SmsRefusedEvent,
  SmsTemplateForbiddenError,
  SmsTokenError,
  type TokenSmsMessage,
  tokenAuthSms,
} from '../../src/sms/index.js';

const key = { kid: 'sms-1', alg: 'HS256', key: new Uint8Array(32).fill(3) } as const;
const tokens = tokenService({ keys: [key], sessionStore: memorySessionStore() });
const otherTokens = tokenService({
  keys: [{ kid: 'sms-1', alg: 'HS256', key: new Uint8Array(32).fill(4) }],
  sessionStore: memorySessionStore(),
});
const verify = (token: string) => tokens.verifyAccess(token);
const base = { to: ['+8613800000000'], template: 'order_shipped', params: { order: '42' } };

async function tokenFor(templates: unknown, issuer = tokens) {
  return (await issuer.issue('orders-team', { claims: { tpl: templates } })).accessToken;
}

describe('tokenAuthSms', () => {
  it('lets a token through for its templates and strips it from the message', async () => {
    const inner = memorySms();
    const sms = tokenAuthSms(inner, { verify });
    const authorized: unknown[] = [];
    sms.events.on('authorized', (e) => authorized.push(e));
    const token = await tokenFor(['order_shipped', 'order_paid']);
    const message: TokenSmsMessage = { ...base, token };
    await expect(sms.send(message)).resolves.toMatchObject({ provider: 'memory' });
    expect(inner.sent).toHaveLength(1);
    expect('token' in (inner.last()?.message ?? {})).toBe(false);
    expect(message.token).toBe(token); // the caller's object is untouched
    expect(authorized).toEqual([
      { name: 'tokenAuth', subject: 'orders-team', template: 'order_shipped' },
    ]);
  });

  it('refuses a template the token does not name', async () => {
    const inner = memorySms();
    const sms = tokenAuthSms(inner, { verify });
    const refused: SmsRefusedEvent[] = [];
    sms.events.on('refused', (e) => refused.push(e));
    const token = await tokenFor(['order_paid']);
    const error = await sms.send({ ...base, token } as TokenSmsMessage).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsTemplateForbiddenError);
    expect(error).toMatchObject({
      code: 'SMS_TEMPLATE_FORBIDDEN',
      template: 'order_shipped',
      subject: 'orders-team',
    });
    expect(refused[0]).toMatchObject({ reason: 'forbidden', subject: 'orders-team' });
    expect(inner.sent).toHaveLength(0);
  });

  it.each([
    ['no tpl claim', undefined],
    ['tpl not an array', 'order_shipped'],
  ])('refuses a token with %s', async (_label, tpl) => {
    const token = tpl === undefined ? (await tokens.issue('x')).accessToken : await tokenFor(tpl);
    await expect(
      tokenAuthSms(memorySms(), { verify }).send({ ...base, token } as TokenSmsMessage),
    ).rejects.toMatchObject({ code: 'SMS_TEMPLATE_FORBIDDEN' });
  });

  it('"*" allows every template', async () => {
    const token = await tokenFor(['*']);
    await expect(
      tokenAuthSms(memorySms(), { verify }).send({
        ...base,
        template: 'any',
        token,
      } as TokenSmsMessage),
    ).resolves.toBeDefined();
  });

  it('refuses a missing token and a token that does not verify', async () => {
    const inner = memorySms();
    const sms = tokenAuthSms(inner, { verify });
    const missing = await sms.send(base).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SmsTokenError);
    expect(missing).toMatchObject({ code: 'SMS_TOKEN_INVALID', reason: 'missing' });

    const forged = await tokenFor(['order_shipped'], otherTokens); // signed with another key
    const invalid = await sms
      .send({ ...base, token: forged } as TokenSmsMessage)
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'SMS_TOKEN_INVALID', reason: 'invalid' });
    expect((invalid as Error).cause).toMatchObject({ code: expect.stringMatching(/^TOKEN_/) });

    const tampered = `${(await tokenFor(['order_shipped'])).slice(0, -2)}AA`;
    await expect(sms.send({ ...base, token: tampered } as TokenSmsMessage)).rejects.toMatchObject({
      reason: 'invalid',
    });

    const { accessToken, sessionId } = await tokens.issue('gone', {
      claims: { tpl: ['order_shipped'] },
    });
    await tokens.logout(sessionId);
    await expect(
      sms.send({ ...base, token: accessToken } as TokenSmsMessage),
    ).rejects.toMatchObject({
      reason: 'invalid',
    });
    expect(inner.sent).toHaveLength(0);
  });

  it('takes the token from a function when given one (one instance per caller)', async () => {
    const token = await tokenFor(['order_shipped']);
    const inner = memorySms();
    const forOrders = tokenAuthSms(inner, { verify, token: () => token });
    await expect(forOrders.send(base)).resolves.toBeDefined();
    const custom = tokenAuthSms(inner, {
      verify: async () => ({ sub: 'ops', scopes: ['order_shipped'] }),
      token: () => 'anything',
      claim: 'scopes',
      name: 'ops',
    });
    await expect(custom.send(base)).resolves.toBeDefined();
  });

  it('refuses bad arguments and options', async () => {
    expect(() => tokenAuthSms({} as never, { verify })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => tokenAuthSms(memorySms(), { verify, claim: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => tokenAuthSms(memorySms(), {} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    const sms = tokenAuthSms(memorySms(), { verify });
    await expect(sms.send(base, 'x' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
