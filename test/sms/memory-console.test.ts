import { describe, expect, it } from 'vitest';
import { AbortedError, manualClock, TimeoutError } from '../../src/core/index.js';
import { memoryLogger } from '../../src/logger/index.js';
import {
  consoleSms,
  memorySms,
  type SmsFailedEvent,
  SmsProviderError,
  type SmsSentEvent,
} from '../../src/sms/index.js';

const message = { to: ['+8613800000000'], template: 'login', params: { code: '123456' } };

describe('memorySms', () => {
  it('captures messages and answers with ids and the request id', async () => {
    const sms = memorySms({ name: 'mock' });
    const result = await sms.send({ ...message, requestId: 'r1' });
    expect(result).toEqual({ provider: 'mock', messageIds: ['mock-1'], requestId: 'r1' });
    expect(sms.sent).toHaveLength(1);
    expect(sms.last()?.message.params.code).toBe('123456');
    sms.clear();
    expect(sms.sent).toHaveLength(0);
    expect(sms.kind).toBe('memory');
  });

  it('fails on demand, then recovers', async () => {
    const sms = memorySms();
    sms.failNext(2);
    await expect(sms.send(message)).rejects.toMatchObject({
      code: 'SMS_PROVIDER_ERROR',
      retryable: true,
    });
    await expect(sms.send(message)).rejects.toBeInstanceOf(SmsProviderError);
    await expect(sms.send(message)).resolves.toMatchObject({ provider: 'memory' });
    const custom = new Error('boom');
    sms.failAlways(custom);
    await expect(sms.send(message)).rejects.toBe(custom);
    await expect(sms.send(message)).rejects.toBe(custom);
    sms.recover();
    await expect(sms.send(message)).resolves.toBeDefined();
    expect(sms.sent).toHaveLength(2);
    expect(() => sms.failNext(-1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => sms.setDelay(1.5)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('is slow on demand, on the injected clock, and times out with TIMEOUT', async () => {
    const clock = manualClock(0);
    const sms = memorySms({ clock, delayMs: 100, timeoutMs: 50 });
    const failed: SmsFailedEvent[] = [];
    sms.events.on('failed', (e) => failed.push(e));
    const pending = sms.send(message);
    const caught = pending.catch((e: unknown) => e);
    await clock.advance(50);
    expect(await caught).toBeInstanceOf(TimeoutError);
    expect(failed[0]).toMatchObject({ code: 'TIMEOUT', retryable: true, durationMs: 50 });
    sms.setDelay(10);
    const sent: SmsSentEvent[] = [];
    sms.events.on('sent', (e) => sent.push(e));
    const ok = sms.send(message);
    await clock.advance(10);
    await expect(ok).resolves.toBeDefined();
    expect(sent[0]).toMatchObject({ provider: 'memory', recipients: 1, durationMs: 10 });
  });

  it('a caller abort is ABORTED, not retryable', async () => {
    const clock = manualClock(0);
    const sms = memorySms({ clock, delayMs: 100 });
    const failed: SmsFailedEvent[] = [];
    sms.events.on('failed', (e) => failed.push(e));
    const controller = new AbortController();
    const pending = sms.send(message, controller.signal).catch((e: unknown) => e);
    controller.abort();
    expect(await pending).toBeInstanceOf(AbortedError);
    expect(failed[0]).toMatchObject({ code: 'ABORTED', retryable: false });
    await expect(sms.send(message, controller.signal)).rejects.toBeInstanceOf(AbortedError);
    await expect(sms.send(message, 'nope' as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(sms.sent).toHaveLength(0);
  });

  it('validates before sending and reports the refusal', async () => {
    const sms = memorySms({ templates: { login: ['code'] } });
    const failed: SmsFailedEvent[] = [];
    sms.events.on('failed', (e) => failed.push(e));
    await expect(sms.send({ ...message, to: ['138'] })).rejects.toMatchObject({
      code: 'INVALID_PHONE',
    });
    await expect(sms.send({ ...message, params: {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(failed.map((e) => e.code)).toEqual(['INVALID_PHONE', 'INVALID_ARGUMENT']);
    expect(sms.sent).toHaveLength(0);
  });
});

describe('consoleSms', () => {
  it('logs the message with its params in clear', async () => {
    const logger = memoryLogger();
    const sms = consoleSms(logger, { name: 'dev' });
    const result = await sms.send(message);
    expect(result.provider).toBe('dev');
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({
      level: 'info',
      fields: { to: ['+8613800000000'], template: 'login', params: { code: '123456' } },
    });
  });

  it('refuses a non-logger and bad messages', async () => {
    expect(() => consoleSms({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const logger = memoryLogger();
    await expect(consoleSms(logger).send({ ...message, template: '' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(logger.entries).toHaveLength(0);
  });
});
