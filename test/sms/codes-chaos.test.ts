// codeService when Redis fails: it fails closed (no SMS without a stored code, no code
// accepted without the store) and works again once Redis is back.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeService, memorySms, redisCodeStore } from '../../src/sms/index.js';
import { type RedisServer, startRedis } from '../harness/index.js';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on('error', () => {}); // expected while the server is down
  await client.ping();
});
afterAll(async () => {
  client.disconnect();
  await server.stop();
});

describe('codeService on a Redis that dies', () => {
  it('sends no SMS and accepts no code while Redis is down; recovers after a restart', async () => {
    const sms = memorySms();
    const codes = codeService({
      sms,
      store: redisCodeStore(client, { commandTimeoutMs: 300 }),
      template: 'login',
      secret: 'chaos-secret-chaos-secret-32byte',
      resendAfterMs: 0,
    });
    await codes.send('+8613800000000', 'login');
    const code = sms.last()?.message.params.code as string;

    await server.kill(); // SIGKILL: the data (no persistence) is gone with it
    await expect(codes.send('+8613800000000', 'login')).rejects.toMatchObject({
      code: 'REDIS_UNAVAILABLE',
    });
    await expect(codes.verify('+8613800000000', 'login', code)).rejects.toMatchObject({
      code: 'REDIS_UNAVAILABLE',
    });
    expect(sms.sent).toHaveLength(1);

    await server.restart();
    for (let i = 0; i < 100 && client.status !== 'ready'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // the old code died with the server's memory: refused, never accepted
    await expect(codes.verify('+8613800000000', 'login', code)).rejects.toMatchObject({
      code: 'CODE_INVALID',
    });
    await codes.send('+8613800000000', 'login');
    await expect(
      codes.verify('+8613800000000', 'login', sms.last()?.message.params.code as string),
    ).resolves.toBeUndefined();
    await codes.close();
  });
});
