import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/core/index.js';
import {
  type AccessVerifier,
  authClaimsOf,
  authInterceptor,
  degradationInterceptor,
  loggingInterceptor,
  rateLimitInterceptor,
  type ServerCallEvent,
  serverEventsInterceptor,
} from '../../src/grpc/index.js';
import { type AccessClaims, tokenService } from '../../src/jwt/index.js';
import { memoryLogger } from '../../src/logger/index.js';
import { fixedWindow } from '../../src/ratelimit/index.js';
import { type Client, callWho, WhoClient, whoDefinition } from './fixtures/grpc.js';

interface Served {
  client: Client;
  /** Calls that reached the handler. */
  handled: number;
  /** Claims the handler read with authClaimsOf, per handled call. */
  claims: (AccessClaims | undefined)[];
}

const cleanups: (() => Promise<void> | void)[] = [];

async function serve(interceptors: grpc.ServerInterceptor[]): Promise<Served> {
  const server = new grpc.Server({ interceptors });
  const served: Served = { client: undefined as never, handled: 0, claims: [] };
  server.addService(whoDefinition, {
    who: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      served.handled++;
      served.claims.push(authClaimsOf(call));
      callback(null, Buffer.from('ok'));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  served.client = new WhoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  cleanups.push(
    () => served.client.close(),
    () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  );
  return served;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function withMetadata(entries: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

describe('rateLimitInterceptor', () => {
  it('answers RESOURCE_EXHAUSTED with retry-after-ms once the quota is spent', async () => {
    const limiter = fixedWindow({ limit: 2, windowMs: 60_000 });
    const s = await serve([rateLimitInterceptor(limiter)]);
    expect((await callWho(s.client)).id).toBe('ok');
    expect((await callWho(s.client)).id).toBe('ok');
    const denied = await callWho(s.client);
    expect(denied.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(Number(denied.error?.metadata.get('retry-after-ms')[0])).toBeGreaterThan(0);
    expect(s.handled).toBe(2);
  });

  it('keys the quota with the key function', async () => {
    const limiter = fixedWindow({ limit: 1, windowMs: 60_000 });
    const s = await serve([
      rateLimitInterceptor(limiter, {
        key: (c) => String(c.metadata.get('x-tenant')[0] ?? 'anonymous'),
      }),
    ]);
    expect((await callWho(s.client, { metadata: withMetadata({ 'x-tenant': 'a' }) })).id).toBe(
      'ok',
    );
    expect((await callWho(s.client, { metadata: withMetadata({ 'x-tenant': 'b' }) })).id).toBe(
      'ok',
    );
    const again = await callWho(s.client, { metadata: withMetadata({ 'x-tenant': 'a' }) });
    expect(again.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('refuses a misspelt option', () => {
    const limiter = fixedWindow({ limit: 1, windowMs: 1_000 });
    expect(() => rateLimitInterceptor(limiter, { keys: () => 'x' } as never)).toThrow(
      InvalidOptionsError,
    );
  });
});

describe('authInterceptor', () => {
  const tokens = tokenService({ keys: [{ kid: 'k1', alg: 'HS256', key: randomBytes(32) }] });

  it('passes a valid bearer token and hands its claims to the handler', async () => {
    const s = await serve([authInterceptor(tokens)]);
    const { accessToken } = await tokens.issue('user-7');
    const ok = await callWho(s.client, {
      metadata: withMetadata({ authorization: `Bearer ${accessToken}` }),
    });
    expect(ok.id).toBe('ok');
    expect(s.claims[0]?.sub).toBe('user-7');
  });

  it('answers UNAUTHENTICATED for a missing, malformed or forged token without running the handler', async () => {
    const s = await serve([authInterceptor(tokens)]);
    const other = tokenService({ keys: [{ kid: 'k1', alg: 'HS256', key: randomBytes(32) }] });
    const { accessToken: forged } = await other.issue('mallory');
    for (const metadata of [
      new grpc.Metadata(),
      withMetadata({ authorization: 'Basic abc' }),
      withMetadata({ authorization: `Bearer ${forged}` }),
    ]) {
      const refused = await callWho(s.client, { metadata });
      expect(refused.error?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(refused.error?.details).toBe('Unauthorized');
    }
    expect(s.handled).toBe(0);
  });

  it('lets public methods through without a token', async () => {
    const s = await serve([authInterceptor(tokens, { publicMethods: ['/girder.test.Echo/Who'] })]);
    expect((await callWho(s.client)).id).toBe('ok');
    expect(s.claims).toEqual([undefined]);
  });

  it('lets a later rate limiter key on the verified subject', async () => {
    const limiter = fixedWindow({ limit: 1, windowMs: 60_000 });
    const keys: string[] = [];
    const s = await serve([
      authInterceptor(tokens),
      rateLimitInterceptor(limiter, {
        key: (call) => {
          const key = authClaimsOf(call)?.sub ?? 'anonymous';
          keys.push(key);
          return key;
        },
      }),
    ]);
    const { accessToken } = await tokens.issue('user-9');
    const metadata = () => withMetadata({ authorization: `Bearer ${accessToken}` });
    expect((await callWho(s.client, { metadata: metadata() })).id).toBe('ok');
    const limited = await callWho(s.client, { metadata: metadata() });
    expect(limited.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(keys).toEqual(['user-9', 'user-9']);
  });

  it('maps a verifier that throws something unexpected to UNAUTHENTICATED', async () => {
    const broken: AccessVerifier = { verifyAccess: () => Promise.reject(new Error('boom')) };
    const s = await serve([authInterceptor(broken)]);
    const refused = await callWho(s.client, {
      metadata: withMetadata({ authorization: 'Bearer x' }),
    });
    expect(refused.error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe('degradationInterceptor', () => {
  it('sheds low-priority calls with UNAVAILABLE only while shedWhen is true', async () => {
    let degraded = false;
    const s = await serve([degradationInterceptor({ shedWhen: () => degraded })]);
    const low = () => callWho(s.client, { metadata: withMetadata({ 'x-priority': 'low' }) });
    expect((await low()).id).toBe('ok');
    degraded = true;
    const shed = await low();
    expect(shed.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect((await callWho(s.client)).id).toBe('ok'); // default priority is kept
    expect((await callWho(s.client, { metadata: withMetadata({ 'x-priority': 'high' }) })).id).toBe(
      'ok',
    );
    degraded = false;
    expect((await low()).id).toBe('ok');
    expect(s.handled).toBe(4);
  });

  it('uses the configured metadata key and priorities', async () => {
    const s = await serve([
      degradationInterceptor({
        priority: 'X-Class',
        shedPriorities: ['batch'],
        shedWhen: () => true,
      }),
    ]);
    const batch = await callWho(s.client, { metadata: withMetadata({ 'x-class': 'batch' }) });
    expect(batch.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect((await callWho(s.client, { metadata: withMetadata({ 'x-class': 'low' }) })).id).toBe(
      'ok',
    );
  });
});

describe('serverEventsInterceptor and loggingInterceptor', () => {
  it('report every call, refusals by later interceptors included', async () => {
    const events = serverEventsInterceptor();
    const seen: ServerCallEvent[] = [];
    events.events.on('call', (e) => seen.push(e));
    const logger = memoryLogger();
    const limiter = fixedWindow({ limit: 1, windowMs: 60_000 });
    const s = await serve([events, loggingInterceptor(logger), rateLimitInterceptor(limiter)]);
    await callWho(s.client);
    await callWho(s.client);
    expect(seen.map((e) => [e.method, e.codeName])).toEqual([
      ['/girder.test.Echo/Who', 'OK'],
      ['/girder.test.Echo/Who', 'RESOURCE_EXHAUSTED'],
    ]);
    for (const e of seen) {
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
      expect(e.peer).toMatch(/127\.0\.0\.1/);
    }
    expect(logger.entries.map((e) => [e.level, e.fields.code])).toEqual([
      ['debug', 'OK'],
      ['warn', 'RESOURCE_EXHAUSTED'],
    ]);
  });
});
