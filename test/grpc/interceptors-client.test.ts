import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { circuitBreaker, consecutiveFailures } from '../../src/breaker/index.js';
import { InvalidOptionsError, manualClock } from '../../src/core/index.js';
import { retryBudget } from '../../src/failover/index.js';
import {
  breakerInterceptor,
  deadlineInterceptor,
  eventsInterceptor,
  retryInterceptor,
} from '../../src/grpc/index.js';
import { type Client, callWho, startServer, type TestServer, WhoClient } from './fixtures/grpc.js';

const servers: TestServer[] = [];
const clients: Client[] = [];

async function setUp(
  interceptors: grpc.Interceptor[],
): Promise<{ server: TestServer; client: Client }> {
  const server = await startServer('s0');
  servers.push(server);
  const client = new WhoClient(server.address, grpc.credentials.createInsecure(), { interceptors });
  clients.push(client);
  return { server, client };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('breakerInterceptor', () => {
  it('opens after failures; then calls fail fast with UNAVAILABLE without reaching the server', async () => {
    const breaker = circuitBreaker({
      policy: consecutiveFailures({ threshold: 3 }),
      openMs: 60_000,
    });
    const { server, client } = await setUp([breakerInterceptor(breaker)]);
    expect((await callWho(client)).id).toBe('s0');
    server.failWith = grpc.status.UNAVAILABLE;
    for (let i = 0; i < 3; i++) {
      expect((await callWho(client)).error?.code).toBe(grpc.status.UNAVAILABLE);
    }
    expect(breaker.state).toBe('open');
    const served = server.served;
    const refused = await callWho(client);
    expect(refused.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.error?.details).toMatch(/refused/);
    expect(server.served).toBe(served);
  });

  it('counts application errors such as NOT_FOUND as successes', async () => {
    const breaker = circuitBreaker({
      policy: consecutiveFailures({ threshold: 2 }),
      openMs: 60_000,
    });
    const { server, client } = await setUp([breakerInterceptor(breaker)]);
    server.failWith = grpc.status.NOT_FOUND;
    for (let i = 0; i < 4; i++) {
      expect((await callWho(client)).error?.code).toBe(grpc.status.NOT_FOUND);
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.callCounts.success).toBe(4);
  });

  it('does not count a call the caller cancelled', async () => {
    const breaker = circuitBreaker({
      policy: consecutiveFailures({ threshold: 1 }),
      openMs: 60_000,
    });
    const { client } = await setUp([breakerInterceptor(breaker)]);
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = (client as unknown as { who: (...a: unknown[]) => grpc.ClientUnaryCall }).who(
        Buffer.alloc(0),
        new grpc.Metadata(),
        {},
        (err: grpc.ServiceError | null) => resolve(err),
      );
      call.cancel();
    });
    expect(error?.code).toBe(grpc.status.CANCELLED);
    expect(breaker.state).toBe('closed');
    expect(breaker.callCounts.failure).toBe(0);
  });

  it('refuses bad options', () => {
    const breaker = circuitBreaker();
    expect(() => breakerInterceptor(breaker, { failon: [] } as never)).toThrow(InvalidOptionsError);
  });
});

describe('retryInterceptor', () => {
  it('retries UNAVAILABLE until an attempt succeeds', async () => {
    const { server, client } = await setUp([retryInterceptor({ maxAttempts: 3 })]);
    server.failWith = grpc.status.UNAVAILABLE;
    const failed = await callWho(client);
    expect(failed.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(server.served).toBe(3);
  });

  it('returns the answer of a later successful attempt', async () => {
    let attempts = 0;
    // Below the retry interceptor: the first attempt fails before reaching the network.
    const flaky: grpc.Interceptor = (options, next) =>
      new grpc.InterceptingCall(next(options), {
        start(metadata, listener, nextStart) {
          attempts++;
          if (attempts === 1) {
            listener.onReceiveStatus({ code: grpc.status.UNAVAILABLE, details: 'flaky', metadata });
          } else {
            nextStart(metadata, listener);
          }
        },
      });
    const { server, client } = await setUp([retryInterceptor({ maxAttempts: 3 }), flaky]);
    expect(await callWho(client)).toEqual({ id: 's0' });
    expect(attempts).toBe(2);
    expect(server.served).toBe(1);
  });

  it('does not retry statuses outside retryOn', async () => {
    const { server, client } = await setUp([retryInterceptor({ maxAttempts: 5 })]);
    server.failWith = grpc.status.INVALID_ARGUMENT;
    expect((await callWho(client)).error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(server.served).toBe(1);
  });

  it('stops retrying when the budget is dry', async () => {
    const budget = retryBudget({
      ratio: 0,
      minPerSec: 0.0001,
      windowMs: 1_000_000,
      clock: manualClock(),
    });
    // The budget allows a fraction of one retry per second: drain whatever it holds.
    while (budget.tryAcquire()) {
      /* drain */
    }
    const { server, client } = await setUp([retryInterceptor({ maxAttempts: 5, budget })]);
    server.failWith = grpc.status.UNAVAILABLE;
    for (let i = 0; i < 4; i++) {
      expect((await callWho(client)).error?.code).toBe(grpc.status.UNAVAILABLE);
    }
    expect(server.served).toBe(4);
    expect(budget.stats().calls).toBe(4);
  });

  it('spends one budget unit per retry', async () => {
    const budget = retryBudget({
      ratio: 0,
      minPerSec: 2,
      windowMs: 1_000,
      buckets: 1,
      clock: manualClock(),
    });
    const { server, client } = await setUp([retryInterceptor({ maxAttempts: 10, budget })]);
    // Connect first: a call refused while the channel connects (a loaded machine) is the
    // channel's UNAVAILABLE, never seen by the server, and would spend budget uncounted.
    expect((await callWho(client)).error).toBeUndefined();
    const servedBefore = server.served;
    const retriesBefore = budget.stats().retries;
    server.failWith = grpc.status.UNAVAILABLE;
    expect((await callWho(client)).error?.code).toBe(grpc.status.UNAVAILABLE);
    const retries = budget.stats().retries - retriesBefore;
    expect(retries).toBeGreaterThan(0);
    expect(retries).toBeLessThan(9);
    expect(server.served - servedBefore).toBe(1 + retries);
  });

  it('waits the backoff between attempts on the injected clock', async () => {
    const clock = manualClock();
    const { server, client } = await setUp([
      retryInterceptor({ maxAttempts: 2, backoff: { delayMs: () => 500 }, clock }),
    ]);
    server.failWith = grpc.status.UNAVAILABLE;
    const pending = callWho(client);
    while (server.served < 1) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    expect(server.served).toBe(1);
    clock.advance(500);
    expect((await pending).error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(server.served).toBe(2);
  });
  it('reports CANCELLED and stops when the caller cancels during the backoff', async () => {
    const clock = manualClock();
    const { server, client } = await setUp([
      retryInterceptor({ maxAttempts: 3, backoff: { delayMs: () => 500 }, clock }),
    ]);
    server.failWith = grpc.status.UNAVAILABLE;
    let call: grpc.ClientUnaryCall | undefined;
    const outcome = new Promise<grpc.ServiceError | null>((resolve) => {
      call = (client as unknown as { who: (...a: unknown[]) => grpc.ClientUnaryCall }).who(
        Buffer.alloc(0),
        new grpc.Metadata(),
        {},
        (err: grpc.ServiceError | null) => resolve(err),
      );
    });
    while (clock.pendingTimers === 0) await new Promise((r) => setImmediate(r));
    call?.cancel();
    expect((await outcome)?.code).toBe(grpc.status.CANCELLED);
    clock.advance(10_000);
    expect(server.served).toBe(1);
  });
  it('delivers the last status when the channel closes while a retry waits', async () => {
    const clock = manualClock();
    const { server, client } = await setUp([
      retryInterceptor({ maxAttempts: 3, backoff: { delayMs: () => 500 }, clock }),
    ]);
    server.failWith = grpc.status.UNAVAILABLE;
    const pending = callWho(client);
    while (clock.pendingTimers === 0) await new Promise((r) => setImmediate(r));
    client.close();
    clock.advance(500); // the retry finds the channel shut down
    expect((await pending).error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(server.served).toBe(1);
  });
});

describe('deadlineInterceptor', () => {
  it('gives a deadline to calls made without one', async () => {
    const clock = manualClock(1_000_000);
    const deadlines: (grpc.Deadline | undefined)[] = [];
    const record: grpc.Interceptor = (options, next) => {
      deadlines.push(options.deadline);
      return new grpc.InterceptingCall(next(options));
    };
    const { client } = await setUp([deadlineInterceptor({ timeoutMs: 60_000, clock }), record]);
    const answer = await new Promise<grpc.ServiceError | null>((resolve) => {
      (client as unknown as { who: (...a: unknown[]) => void }).who(
        Buffer.alloc(0),
        new grpc.Metadata(),
        {},
        (err: grpc.ServiceError | null) => resolve(err),
      );
    });
    // The injected clock is far in the past, so the deadline it sets has expired at once.
    expect(deadlines).toEqual([1_060_000]);
    expect(answer?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('keeps a deadline the caller set', async () => {
    const clock = manualClock(1_000_000);
    const deadlines: (grpc.Deadline | undefined)[] = [];
    const record: grpc.Interceptor = (options, next) => {
      deadlines.push(options.deadline);
      return new grpc.InterceptingCall(next(options));
    };
    const { client } = await setUp([deadlineInterceptor({ timeoutMs: 1, clock }), record]);
    // With its own 5 s deadline the call is untouched (the clock here would have expired it).
    expect((await callWho(client)).id).toBe('s0');
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]).toBeGreaterThan(Date.now());
  });
});

describe('eventsInterceptor', () => {
  it('emits one call event per call with method, code and duration', async () => {
    const calls = eventsInterceptor();
    const seen: { method: string; codeName: string; durationMs: number }[] = [];
    calls.events.on('call', (e) => seen.push(e));
    const { server, client } = await setUp([calls]);
    await callWho(client);
    server.failWith = grpc.status.UNAVAILABLE;
    await callWho(client);
    expect(seen.map((e) => [e.method, e.codeName])).toEqual([
      ['/girder.test.Echo/Who', 'OK'],
      ['/girder.test.Echo/Who', 'UNAVAILABLE'],
    ]);
    for (const e of seen) expect(e.durationMs).toBeGreaterThanOrEqual(0);
  });
});
