// Each HTTP provider against a local fake server that checks the request the way the
// provider's docs define it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, manualClock, TimeoutError } from '../../src/core/index.js';
import {
  aliyunSms,
  httpSms,
  type SmsFailedEvent,
  SmsProviderError,
  tencentSms,
} from '../../src/sms/index.js';
import {
  checkTc3,
  expectedAliyunSignature,
  type FakeProvider,
  parseForm,
  startFakeProvider,
} from './fake-provider.js';

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

const message = {
  to: ['+8613800000000', '+85291234567'],
  template: 'SMS_1',
  params: { code: '12 34*56', product: '商城' },
  requestId: 'req-1',
};

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Wait (real time, bounded) until the fake server has seen `n` requests. */
async function requestsSeen(n: number): Promise<void> {
  for (let i = 0; i < 200 && fake.requests.length < n; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('aliyunSms', () => {
  const secret = 'aliyun-secret';
  const make = (extra: Record<string, unknown> = {}) =>
    aliyunSms({
      accessKeyId: 'id-1',
      accessKeySecret: secret,
      signName: '商城',
      endpoint: fake.url,
      ...extra,
    });

  it('sends a SendSms request whose signature verifies', async () => {
    fake.handler = () => ({ body: { Code: 'OK', Message: 'OK', BizId: 'biz-9', RequestId: 'r' } });
    const sms = make({ clock: manualClock(Date.UTC(2026, 10, 30, 8, 0, 0)) });
    const result = await sms.send(message);
    expect(result).toEqual({ provider: 'aliyun', messageIds: ['biz-9'], requestId: 'req-1' });
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const params = parseForm(request?.body ?? '');
    expect(Object.fromEntries(params)).toMatchObject({
      AccessKeyId: 'id-1',
      Action: 'SendSms',
      Version: '2017-05-25',
      Format: 'JSON',
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      PhoneNumbers: '13800000000,85291234567',
      SignName: '商城',
      TemplateCode: 'SMS_1',
      OutId: 'req-1',
      Timestamp: '2026-11-30T08:00:00Z',
    });
    expect(JSON.parse(params.get('TemplateParam') ?? '')).toEqual(message.params);
    expect(params.get('Signature')).toBe(expectedAliyunSignature('POST', params, secret));
    // and a wrong secret would not verify
    expect(params.get('Signature')).not.toBe(expectedAliyunSignature('POST', params, 'other'));
  });

  it('uses a fresh nonce per request', async () => {
    fake.handler = () => ({ body: { Code: 'OK', BizId: 'b' } });
    const sms = make();
    await sms.send(message);
    await sms.send(message);
    const nonces = fake.requests.map((r) => parseForm(r.body).get('SignatureNonce'));
    expect(new Set(nonces).size).toBe(2);
  });

  it.each([
    ['isv.BUSINESS_LIMIT_CONTROL', 200, true],
    ['Throttling.User', 400, true],
    ['ServiceUnavailable', 503, true],
    ['isv.MOBILE_NUMBER_ILLEGAL', 200, false],
    ['SignatureDoesNotMatch', 400, false],
  ])('maps %s to SMS_PROVIDER_ERROR (retryable %s)', async (code, status, retryable) => {
    fake.handler = () => ({ status, body: { Code: code, Message: 'nope', RequestId: 'r' } });
    const sms = make();
    const failed: SmsFailedEvent[] = [];
    sms.events.on('failed', (e) => failed.push(e));
    const error = await caught(sms.send(message));
    expect(error).toBeInstanceOf(SmsProviderError);
    expect(error).toMatchObject({
      code: 'SMS_PROVIDER_ERROR',
      providerCode: code,
      retryable,
      provider: 'aliyun',
      requestId: 'req-1',
    });
    expect(failed[0]).toMatchObject({ code: 'SMS_PROVIDER_ERROR', retryable });
  });

  it('maps a non-JSON 502 to a retryable HTTP_502', async () => {
    fake.handler = () => ({ status: 502, body: '<html>bad gateway</html>' });
    await expect(make().send(message)).rejects.toMatchObject({
      providerCode: 'HTTP_502',
      status: 502,
      retryable: true,
    });
  });

  it('needs a signName and at most 1000 recipients, before any request', async () => {
    const sms = make({ signName: undefined });
    await expect(sms.send(message)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const many = Array.from({ length: 1001 }, (_, i) => `+861380000${String(i).padStart(4, '0')}`);
    await expect(make().send({ ...message, to: many })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(fake.requests).toHaveLength(0);
  });

  it('times out with TIMEOUT on its clock, and a caller abort is ABORTED', async () => {
    fake.handler = () => ({ hang: true });
    const clock = manualClock(Date.now());
    const sms = make({ clock, timeoutMs: 1_000 });
    const failed: SmsFailedEvent[] = [];
    sms.events.on('failed', (e) => failed.push(e));
    const pending = caught(sms.send(message));
    await requestsSeen(1);
    clock.advance(1_000);
    expect(await pending).toBeInstanceOf(TimeoutError);
    expect(failed[0]).toMatchObject({ code: 'TIMEOUT', retryable: true, durationMs: 1_000 });

    const controller = new AbortController();
    const aborted = caught(sms.send(message, controller.signal));
    await requestsSeen(2);
    controller.abort();
    expect(await aborted).toBeInstanceOf(AbortedError);
    expect(failed[1]).toMatchObject({ code: 'ABORTED', retryable: false });
  });

  it('an unreachable endpoint is a retryable NETWORK error', async () => {
    const sms = make({ endpoint: 'http://127.0.0.1:1/' });
    await expect(sms.send(message)).rejects.toMatchObject({
      code: 'SMS_PROVIDER_ERROR',
      providerCode: 'NETWORK',
      retryable: true,
    });
  });

  it('refuses bad options', () => {
    expect(() => aliyunSms({ accessKeyId: '', accessKeySecret: 's' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() =>
      aliyunSms({ accessKeyId: 'a', accessKeySecret: 's', endpoint: 'not a url' }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});

describe('tencentSms', () => {
  const credentials = { secretId: 'AKIDtest', secretKey: 'tencent-secret' };
  const make = (extra: Record<string, unknown> = {}) =>
    tencentSms({
      ...credentials,
      sdkAppId: '1400000000',
      signName: '商城',
      endpoint: fake.url,
      ...extra,
    });
  const ok = (body: string) => {
    const phones = (JSON.parse(body) as { PhoneNumberSet: string[] }).PhoneNumberSet;
    return {
      body: {
        Response: {
          SendStatusSet: phones.map((p, i) => ({
            SerialNo: `serial-${i}`,
            PhoneNumber: p,
            Code: 'Ok',
            Message: 'send success',
          })),
          RequestId: 'r',
        },
      },
    };
  };

  it('sends a SendSms request whose TC3 signature verifies', async () => {
    fake.handler = (request) => ok(request.body);
    const sms = make({ templates: { SMS_1: ['product', 'code'] } });
    const result = await sms.send(message);
    expect(result).toEqual({
      provider: 'tencent',
      messageIds: ['serial-0', 'serial-1'],
      requestId: 'req-1',
    });
    const [request] = fake.requests;
    expect(request?.headers).toMatchObject({
      'x-tc-action': 'SendSms',
      'x-tc-version': '2021-01-11',
      'x-tc-region': 'ap-guangzhou',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(checkTc3(request!, credentials.secretId, credentials.secretKey)).toBeUndefined();
    expect(checkTc3(request!, credentials.secretId, 'wrong')).toBe('signature mismatch');
    expect(
      checkTc3(
        { ...request!, body: `${request!.body} ` },
        credentials.secretId,
        credentials.secretKey,
      ),
    ).toBe('signature mismatch');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      PhoneNumberSet: ['+8613800000000', '+85291234567'],
      SmsSdkAppId: '1400000000',
      SignName: '商城',
      TemplateId: 'SMS_1',
      TemplateParamSet: ['商城', '12 34*56'], // the declared order
      SessionContext: 'req-1',
    });
  });

  it('a request-level Error maps to SMS_PROVIDER_ERROR with its code', async () => {
    fake.handler = () => ({
      body: { Response: { Error: { Code: 'AuthFailure.SignatureFailure', Message: 'bad' } } },
    });
    await expect(make().send(message)).rejects.toMatchObject({
      providerCode: 'AuthFailure.SignatureFailure',
      retryable: false,
    });
    fake.handler = () => ({
      body: { Response: { Error: { Code: 'RequestLimitExceeded', Message: 'slow down' } } },
    });
    await expect(make().send(message)).rejects.toMatchObject({
      providerCode: 'RequestLimitExceeded',
      retryable: true,
    });
  });

  it('a refused recipient fails the send and says how many went out', async () => {
    fake.handler = () => ({
      body: {
        Response: {
          SendStatusSet: [
            { SerialNo: 's0', Code: 'Ok', Message: 'send success' },
            {
              SerialNo: '',
              Code: 'InvalidParameterValue.IncorrectPhoneNumber',
              Message: 'bad number',
            },
          ],
        },
      },
    });
    const error = await caught(make().send(message));
    expect(error).toMatchObject({
      providerCode: 'InvalidParameterValue.IncorrectPhoneNumber',
      retryable: false,
    });
    expect((error as Error).message).toContain('1 of 2 recipients accepted');
  });

  it('times out with TIMEOUT', async () => {
    fake.handler = () => ({ hang: true });
    const clock = manualClock(Date.now());
    const sms = make({ clock, timeoutMs: 500 });
    const pending = caught(sms.send(message));
    await requestsSeen(1);
    clock.advance(500);
    expect(await pending).toBeInstanceOf(TimeoutError);
  });
});

describe('httpSms', () => {
  const make = (extra: Record<string, unknown> = {}) =>
    httpSms({ url: fake.url, headers: { authorization: 'Bearer t' }, ...extra });

  it('posts the validated message as JSON with an idempotency key', async () => {
    fake.handler = () => ({ body: { messageIds: ['m1', 'm2'] } });
    const result = await make().send(message);
    expect(result).toEqual({ provider: 'http', messageIds: ['m1', 'm2'], requestId: 'req-1' });
    const [request] = fake.requests;
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer t',
      'idempotency-key': 'req-1',
      'content-type': 'application/json',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual(message);
  });

  it.each([
    [429, { code: 'SLOW_DOWN' }, 'SLOW_DOWN', true],
    [500, undefined, 'HTTP_500', true],
    [400, { code: 'BAD_TEMPLATE' }, 'BAD_TEMPLATE', false],
    [403, 'forbidden', 'HTTP_403', false],
  ])('status %i maps to %s', async (status, body, providerCode, retryable) => {
    fake.handler = () => ({ status, body });
    await expect(make().send(message)).rejects.toMatchObject({
      code: 'SMS_PROVIDER_ERROR',
      providerCode,
      status,
      retryable,
    });
  });

  it('refuses a message before posting it', async () => {
    await expect(make().send({ ...message, to: ['0'] })).rejects.toMatchObject({
      code: 'INVALID_PHONE',
    });
    expect(fake.requests).toHaveLength(0);
  });
});
