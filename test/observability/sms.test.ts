import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { memorySessionStore, tokenService } from '../../src/jwt/index.js';
import { metrics, tracing } from '../../src/observability/index.js';
import {
  codeService,
  memoryCodeStore,
  memorySms,
  type TokenSmsMessage,
  tokenAuthSms,
} from '../../src/sms/index.js';
import { nonZero } from './helpers.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const tracer = trace.getTracer('girder-test');
afterEach(() => exporter.reset());
afterAll(() => provider.shutdown());

const message = { to: ['+8613800000000'], template: 'login', params: { code: '1' } };
const key = { kid: 'k', alg: 'HS256', key: new Uint8Array(32).fill(9) } as const;

describe('metrics: sms', () => {
  it('counts provider sends by outcome and code, with durations', async () => {
    const registry = new Registry();
    const m = metrics({ registry });
    const sms = memorySms({ name: 'mock-a' });
    m.watch(sms);
    await sms.send(message);
    await sms.send(message);
    sms.failNext(1);
    await sms.send(message).catch(() => undefined);
    await sms.send({ ...message, to: ['bad'] }).catch(() => undefined);
    expect(await nonZero(registry, 'girder_sms_sends_total')).toEqual({
      'code=OK,name=mock-a,outcome=sent': 2,
      'code=SMS_PROVIDER_ERROR,name=mock-a,outcome=failed': 1,
      'code=INVALID_PHONE,name=mock-a,outcome=failed': 1,
    });
    expect(await nonZero(registry, 'girder_sms_send_duration_seconds')).toEqual({
      'name=mock-a,outcome=sent': 2,
      'name=mock-a,outcome=failed': 2,
    });
  });

  it('counts token authorizations and refusals', async () => {
    const registry = new Registry();
    const tokens = tokenService({ keys: [key], sessionStore: memorySessionStore() });
    const sms = tokenAuthSms(memorySms(), { verify: (t) => tokens.verifyAccess(t), name: 'teams' });
    metrics({ registry }).watch(sms);
    const { accessToken } = await tokens.issue('orders', { claims: { tpl: ['login'] } });
    await sms.send({ ...message, token: accessToken } as TokenSmsMessage);
    await sms
      .send({ ...message, template: 'other', token: accessToken } as TokenSmsMessage)
      .catch(() => undefined);
    await sms.send(message).catch(() => undefined);
    await sms.send({ ...message, token: 'x.y.z' } as TokenSmsMessage).catch(() => undefined);
    expect(await nonZero(registry, 'girder_sms_auth_total')).toEqual({
      'name=teams,outcome=authorized': 1,
      'name=teams,outcome=forbidden': 1,
      'name=teams,outcome=missing': 1,
      'name=teams,outcome=invalid': 1,
    });
  });

  it('counts code sends and verifies by purpose and outcome', async () => {
    const registry = new Registry();
    const sms = memorySms();
    const codes = codeService({ sms, store: memoryCodeStore(), template: 'login' });
    metrics({ registry }).watch(codes);
    await codes.send('+8613800000000', 'login');
    await codes.send('+8613800000000', 'login').catch(() => undefined);
    await codes.verify('+8613800000000', 'login', 'x').catch(() => undefined);
    await codes.verify('+8613800000000', 'login', sms.last()?.message.params.code as string);
    expect(await nonZero(registry, 'girder_sms_code_events_total')).toEqual({
      'name=codes,operation=send,outcome=sent,purpose=login': 1,
      'name=codes,operation=send,outcome=too_frequent,purpose=login': 1,
      'name=codes,operation=verify,outcome=invalid,purpose=login': 1,
      'name=codes,operation=verify,outcome=verified,purpose=login': 1,
    });
    expect(await nonZero(registry, 'girder_sms_code_duration_seconds')).toEqual({
      'name=codes,operation=send': 2,
      'name=codes,operation=verify': 2,
    });
  });
});

describe('tracing: sms', () => {
  it('a send is a client span under the caller; a failed one has error status', async () => {
    const t = tracing({ tracer, redis: false });
    const sms = memorySms({ name: 'mock-a' });
    t.watch(sms);
    await tracer.startActiveSpan('request', async (parent) => {
      await sms.send({ ...message, requestId: 'r1' });
      sms.failNext(1);
      await sms.send(message).catch(() => undefined);
      parent.end();
    });
    const [request] = exporter.getFinishedSpans().filter((s) => s.name === 'request');
    const sends = exporter.getFinishedSpans().filter((s) => s.name === 'girder.sms.send');
    expect(sends).toHaveLength(2);
    for (const s of sends) expect(s.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(sends[0]?.attributes).toMatchObject({
      'girder.name': 'mock-a',
      'girder.sms.provider': 'mock-a',
      'girder.sms.request_id': 'r1',
      'girder.sms.recipients': 1,
    });
    expect(sends[1]?.status).toMatchObject({
      code: SpanStatusCode.ERROR,
      message: 'SMS_PROVIDER_ERROR',
    });
    expect(sends[1]?.attributes['girder.sms.retryable']).toBe(true);
    t.close();
  });

  it('token refusals and code failures are events on the caller span', async () => {
    const t = tracing({ tracer, redis: false });
    const guarded = tokenAuthSms(memorySms(), { verify: () => ({ tpl: [] }) });
    const codes = codeService({ sms: memorySms(), store: memoryCodeStore(), template: 'login' });
    t.watch(guarded);
    t.watch(codes);
    await tracer.startActiveSpan('request', async (parent) => {
      await guarded.send(message).catch(() => undefined);
      await codes.verify('+8613800000000', 'login', '000000').catch(() => undefined);
      parent.end();
    });
    const [request] = exporter.getFinishedSpans().filter((s) => s.name === 'request');
    expect(request?.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'girder.sms.auth_refused',
        {
          'girder.name': 'tokenAuth',
          'girder.sms.reason': 'missing',
          'girder.sms.template': 'login',
        },
      ],
      [
        'girder.sms.code_failed',
        {
          'girder.name': 'codes',
          'girder.sms.operation': 'verify',
          'girder.sms.purpose': 'login',
          'girder.sms.reason': 'invalid',
        },
      ],
    ]);
    t.close();
  });

  it('an object with only a send method is refused', () => {
    const t = tracing({ tracer, redis: false });
    expect(() => t.watch({ send: async () => ({}) } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    t.close();
  });
});
