// The SmsQueue contract: one table of specs, run against every backend (memory, PGlite,
// PostgreSQL) on a manual clock, so lease expiry and retry delays need no sleeping.
import { expect, it } from 'vitest';
import { isGirderError, type ManualClock } from '../../src/core/index.js';
import type { SmsMessage, SmsQueue } from '../../src/sms/index.js';

export interface QueueEnv {
  clock: ManualClock;
  /** A fresh, empty queue on `clock`. */
  make(options?: { maxAttempts?: number }): Promise<SmsQueue>;
}

export const msg = (requestId?: string): SmsMessage => ({
  to: ['+8613800000000'],
  template: 'welcome',
  params: { name: 'Ada' },
  ...(requestId !== undefined && { requestId }),
});

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return isGirderError(err) ? err.code : String(err);
  }
  return 'resolved';
};

export function queueContract(env: () => QueueEnv): void {
  it('stores a message once per requestId', async () => {
    const q = await env().make();
    const a = await q.enqueue(msg('r1'));
    const b = await q.enqueue({ ...msg('r1'), template: 'other' });
    expect(a.duplicate).toBe(false);
    expect(b).toEqual({ jobId: a.jobId, requestId: 'r1', duplicate: true });
    expect(await q.depth()).toEqual({ pending: 1, leased: 0, sent: 0, dead: 0 });
  });

  it('generates a requestId when the message has none', async () => {
    const q = await env().make();
    const { requestId } = await q.enqueue(msg());
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const [job] = await q.claim('w1', 1, 1_000);
    expect(job?.message.requestId).toBe(requestId);
  });

  it('refuses malformed messages with INVALID_ARGUMENT and stores nothing', async () => {
    const q = await env().make();
    for (const bad of [
      null,
      { to: [], template: 't' },
      { to: ['+1'], template: '' },
      { to: ['+1'], template: 't', params: { a: 1 } },
      { to: ['+1'], template: 't', requestId: '' },
      { to: ['+1'], template: 't', requestId: 'x'.repeat(129) },
    ]) {
      expect(await code(q.enqueue(bad as never))).toBe('INVALID_ARGUMENT');
    }
    expect(await code(q.enqueue(msg(), { delayMs: -1 }))).toBe('INVALID_ARGUMENT');
    expect(await code(q.claim('', 1, 1_000))).toBe('INVALID_ARGUMENT');
    expect(await code(q.claim('w', 0, 1_000))).toBe('INVALID_ARGUMENT');
    expect(await code(q.claim('w', 1, 0))).toBe('INVALID_ARGUMENT');
    expect(await code(q.complete({ id: 'x' } as never))).toBe('INVALID_ARGUMENT');
    expect((await q.depth()).pending).toBe(0);
  });

  it('claims in enqueue order, each job once while its lease is valid', async () => {
    const e = env();
    const q = await e.make();
    for (let i = 0; i < 5; i++) {
      await q.enqueue(msg(`r${i}`));
      e.clock.advance(1);
    }
    const first = await q.claim('w1', 3, 1_000);
    const second = await q.claim('w2', 10, 1_000);
    expect(first.map((j) => j.requestId)).toEqual(['r0', 'r1', 'r2']);
    expect(second.map((j) => j.requestId)).toEqual(['r3', 'r4']);
    expect(first[0]).toMatchObject({ attempt: 1, maxAttempts: 5, token: 1 });
    expect(first[0]!.leaseUntil).toBe(e.clock.now() + 1_000);
    expect(await q.claim('w3', 10, 1_000)).toEqual([]);
    expect(await q.depth()).toEqual({ pending: 0, leased: 5, sent: 0, dead: 0 });
  });

  it('hands a job to another worker once the lease runs out, fencing the first', async () => {
    const e = env();
    const q = await e.make();
    await q.enqueue(msg('r1'));
    const [a] = await q.claim('w1', 1, 1_000);
    e.clock.advance(999);
    expect(await q.claim('w2', 1, 1_000)).toEqual([]);
    expect(await q.renew(a!, 1_000)).toBe(e.clock.now() + 1_000);
    e.clock.advance(1_000);
    const [b] = await q.claim('w2', 1, 1_000);
    expect(b).toMatchObject({ requestId: 'r1', attempt: 2, token: 2 });
    // The first worker's claim is stale: every write on it is refused.
    expect(await q.renew(a!, 1_000)).toBeUndefined();
    expect(await q.complete(a!)).toBe(false);
    expect(await q.retry(a!, 0, 'x')).toBe(false);
    expect(await q.postpone(a!, 0)).toBe(false);
    expect(await q.kill(a!, 'x')).toBe(false);
    expect(await q.complete(b!)).toBe(true);
    expect(await q.complete(b!)).toBe(false);
    expect(await q.get('r1')).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('retries after the delay, keeping the error, and never past maxAttempts', async () => {
    const e = env();
    const q = await e.make({ maxAttempts: 2 });
    await q.enqueue(msg('r1'));
    const [a] = await q.claim('w1', 1, 1_000);
    expect(await q.retry(a!, 500, 'HTTP 503')).toBe(true);
    expect(await q.claim('w1', 1, 1_000)).toEqual([]);
    e.clock.advance(500);
    const [b] = await q.claim('w1', 1, 1_000);
    expect(b).toMatchObject({ attempt: 2, lastError: 'HTTP 503' });
    expect(await q.retry(b!, 0, 'again')).toBe(true);
    // Both attempts are spent: the job is never claimed again.
    expect(await q.claim('w1', 1, 1_000)).toEqual([]);
    expect(await q.get('r1')).toMatchObject({ status: 'pending', attempts: 2 });
  });

  it('postpone gives the attempt back', async () => {
    const e = env();
    const q = await e.make({ maxAttempts: 1 });
    await q.enqueue(msg('r1'));
    const [a] = await q.claim('w1', 1, 1_000);
    expect(await q.postpone(a!, 100)).toBe(true);
    e.clock.advance(100);
    const [b] = await q.claim('w1', 1, 1_000);
    expect(b).toMatchObject({ attempt: 1, token: 2 });
  });

  it('kill marks a job dead with its error', async () => {
    const q = await env().make();
    await q.enqueue(msg('r1'));
    const [a] = await q.claim('w1', 1, 1_000);
    expect(await q.kill(a!, 'SMS_PROVIDER_ERROR: bad template')).toBe(true);
    expect(await q.get('r1')).toMatchObject({
      status: 'dead',
      lastError: 'SMS_PROVIDER_ERROR: bad template',
    });
    expect(await q.depth()).toEqual({ pending: 0, leased: 0, sent: 0, dead: 1 });
  });

  it('reaps a job whose last attempt was never answered', async () => {
    const e = env();
    const q = await e.make({ maxAttempts: 1 });
    await q.enqueue(msg('r1'));
    await q.enqueue(msg('r2'));
    await q.claim('w1', 2, 1_000);
    expect(await q.reap()).toEqual([]);
    e.clock.advance(1_000);
    const reaped = await q.reap();
    expect(reaped.map((j) => j.requestId).sort()).toEqual(['r1', 'r2']);
    expect(reaped[0]).toMatchObject({ status: 'dead', attempts: 1 });
    expect(await q.reap()).toEqual([]);
  });

  it('delayMs holds a job back', async () => {
    const e = env();
    const q = await e.make();
    await q.enqueue(msg('r1'), { delayMs: 300 });
    expect(await q.claim('w1', 1, 1_000)).toEqual([]);
    e.clock.advance(300);
    expect(await q.claim('w1', 1, 1_000)).toHaveLength(1);
  });

  it('purge deletes finished jobs older than the horizon, freeing their requestId', async () => {
    const e = env();
    const q = await e.make();
    await q.enqueue(msg('r1'));
    await q.enqueue(msg('r2'));
    const [a] = await q.claim('w1', 1, 1_000);
    await q.complete(a!);
    e.clock.advance(1_000);
    expect(await q.purge(1_000)).toBe(0);
    e.clock.advance(1);
    expect(await q.purge(1_000)).toBe(1);
    expect(await q.get('r1')).toBeUndefined();
    expect((await q.enqueue(msg('r1'))).duplicate).toBe(false);
    expect(await q.depth()).toEqual({ pending: 2, leased: 0, sent: 0, dead: 0 });
  });

  it('concurrent claims never hand one job to two workers', async () => {
    const q = await env().make();
    for (let i = 0; i < 40; i++) await q.enqueue(msg(`r${i}`));
    const batches = await Promise.all(
      Array.from({ length: 8 }, (_, w) => q.claim(`w${w}`, 7, 10_000)),
    );
    // The CAS strategy may lose races and return fewer: the rest is claimed afterwards.
    const rest = await q.claim('late', 40, 10_000);
    const ids = [...batches.flat(), ...rest].map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(40);
  });
}
