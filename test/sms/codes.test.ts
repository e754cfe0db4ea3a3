import { beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { codeService, memoryCodeStore, memorySms, redisCodeStore } from '../../src/sms/index.js';
import {
  type ContractBackend,
  describeBackends,
  openRedisClient,
  type RedisBackendClient,
  uniquePrefix,
} from '../harness/index.js';
import { type CodeEnv, codeContract } from './code-contract.js';

const memory: ContractBackend<CodeEnv> = {
  name: 'memory',
  open() {
    const clock = manualClock(1_700_000_000_000);
    return {
      clock,
      store: () => memoryCodeStore({ clock }),
      pass: async (ms) => clock.advance(ms),
    };
  },
};

const redisBackend = (
  name: 'redis' | 'redis-cluster',
): ContractBackend<CodeEnv & { client: RedisBackendClient }> => ({
  name,
  async open() {
    const client = await openRedisClient(name);
    return {
      client,
      store: () => redisCodeStore(client, { prefix: uniquePrefix('code') }),
      // Redis keeps time with its own clock: let real time pass (the specs use short TTLs).
      pass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
  },
  close: (env) => void env.client.disconnect(),
});

describeBackends<CodeEnv>(
  [memory, redisBackend('redis'), redisBackend('redis-cluster')],
  (_name, env) => codeContract(env),
);

describe('codeService options', () => {
  let base = { sms: memorySms(), store: memoryCodeStore(), template: 'login' };
  beforeEach(() => {
    base = { sms: memorySms(), store: memoryCodeStore(), template: 'login' };
  });

  it('needs a secret with a shared store', async () => {
    const client = await openRedisClient('redis');
    try {
      expect(() => codeService({ ...base, store: redisCodeStore(client) })).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining('secret'),
        }),
      );
    } finally {
      client.disconnect();
    }
  });

  it.each([
    ['length', 3],
    ['length', 11],
    ['ttlMs', 0],
    ['maxAttempts', 0],
    ['secret', 'short'],
    ['template', ''],
  ])('refuses %s = %j', (key, value) => {
    expect(() => codeService({ ...base, [key]: value })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('makes codes of the configured length with the configured params', async () => {
    const sms = memorySms();
    const codes = codeService({
      ...base,
      sms,
      length: 8,
      params: (code, ttlMs) => ({ otp: code, minutes: String(ttlMs / 60_000) }),
    });
    await codes.send('+8613800000000', 'login');
    expect(sms.last()?.message.params).toEqual({
      otp: expect.stringMatching(/^\d{8}$/),
      minutes: '10',
    });
  });

  it('codes are spread over the whole range (CSPRNG, zero-padded)', async () => {
    const sms = memorySms();
    const codes = codeService({ ...base, sms, length: 4, resendAfterMs: 0 });
    const firstDigits = new Set<string>();
    for (let i = 0; i < 200; i++) {
      await codes.send('+8613800000000', 'login');
      const code = sms.last()?.message.params.code as string;
      expect(code).toMatch(/^\d{4}$/);
      firstDigits.add(code[0] as string);
    }
    expect(firstDigits.size).toBeGreaterThan(5);
  });

  it('reports sends, verifies and failures on events', async () => {
    const codes = codeService({ ...base, sms: memorySms() });
    const seen: string[] = [];
    codes.events.on('sent', (e) => seen.push(`sent:${e.purpose}`));
    codes.events.on('verified', (e) => seen.push(`verified:${e.purpose}`));
    codes.events.on('failed', (e) => seen.push(`failed:${e.operation}:${e.reason}`));
    await codes.send('+8613800000000', 'login');
    await codes.send('+8613800000000', 'login').catch(() => undefined);
    await codes.verify('+8613800000000', 'login', 'nope').catch(() => undefined);
    expect(seen).toEqual(['sent:login', 'failed:send:too_frequent', 'failed:verify:invalid']);
  });
});
