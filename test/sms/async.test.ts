// asyncFallback and smsQueueWorker on the memory queue and a manual clock: when a message
// is queued instead of sent, and how workers send, retry, postpone and give up.
import { describe, expect, it } from 'vitest';
import {
  type EventSource,
  GirderError,
  isGirderError,
  type ManualClock,
  manualClock,
} from '../../src/core/index.js';
import { fixedWindow, withRateLimit } from '../../src/ratelimit/index.js';
import {
  asyncFallback,
  healthDetector,
  isQueued,
  memorySmsQueue,
  type SmsDetector,
  type SmsMessage,
  type SmsQueue,
  type SmsQueueEvents,
  type SmsResult,
  type SmsService,
  smsQueueWorker,
} from '../../src/sms/index.js';

/** A tiny fake provider: answers by script (`ok`, or an error to throw). */
function fakeSms(clock?: ManualClock) {
  const sent: SmsMessage[] = [];
  let script: (m: SmsMessage) => Error | undefined = () => undefined;
  let delayMs = 0;
  const svc: SmsService = {
    async send(message, signal) {
      if (delayMs > 0 && clock) {
        await new Promise<void>((resolve, reject) => {
          const h = clock.setTimeout(resolve, delayMs);
          signal?.addEventListener('abort', () => {
            clock.clearTimeout(h);
            reject(signal.reason);
          });
        });
      }
      const error = script(message);
      if (error) throw error;
      sent.push(message);
      return { provider: 'fake', messageIds: [`m${sent.length}`], requestId: message.requestId! };
    },
  };
  return {
    svc,
    sent,
    failWith(f: (m: SmsMessage) => Error | undefined) {
      script = f;
    },
    slow(ms: number) {
      delayMs = ms;
    },
  };
}

const msg = (requestId: string): SmsMessage => ({
  to: ['+8613800000000'],
  template: 'welcome',
  requestId,
});
const down = new GirderError('SMS_PROVIDER_ERROR', 'HTTP 503');
const downDetector = (): SmsDetector => ({ state: 'down', admit: () => 'queue', record() {} });

function record<K extends keyof SmsQueueEvents>(
  source: { events: EventSource<SmsQueueEvents> },
  event: K,
): SmsQueueEvents[K][] {
  const seen: SmsQueueEvents[K][] = [];
  source.events.on(event, (p) => {
    seen.push(p);
  });
  return seen;
}

describe('asyncFallback', () => {
  const setup = (o: Partial<Parameters<typeof asyncFallback>[1]> = {}) => {
    const clock = manualClock(1_000_000);
    const fake = fakeSms(clock);
    const queue = memorySmsQueue({ clock, maxAttempts: 3 });
    const sms = asyncFallback(fake.svc, { queue, clock, workers: 0, ...o });
    return { clock, fake, queue, sms };
  };

  it('sends live while the provider is up, adding a requestId', async () => {
    const { fake, queue, sms } = setup();
    const r = await sms.send({ to: ['+8613800000000'], template: 'welcome' });
    expect(r.provider).toBe('fake');
    expect(isQueued(r)).toBe(false);
    expect(fake.sent[0]?.requestId).toBe(r.requestId);
    expect((await queue.depth()).pending).toBe(0);
  });

  it('queues a send refused by girder’s rate limiter', async () => {
    const clock = manualClock(1_000_000);
    const fake = fakeSms();
    const queue = memorySmsQueue({ clock });
    const limited = withRateLimit(fake.svc, fixedWindow({ limit: 1, windowMs: 60_000, clock }), {
      key: 'sms',
    });
    const sms = asyncFallback(limited, { queue, clock, workers: 0 });
    const enqueued = record(sms, 'enqueued');
    expect((await sms.send(msg('a'))).provider).toBe('fake');
    const r = await sms.send(msg('b'));
    expect(isQueued(r)).toBe(true);
    expect(r).toMatchObject({
      provider: 'queued',
      messageIds: [],
      requestId: 'b',
      reason: 'rate-limited',
    });
    expect(enqueued).toEqual([
      expect.objectContaining({ requestId: 'b', reason: 'rate-limited', duplicate: false }),
    ]);
    expect(await queue.get('b')).toMatchObject({ status: 'pending' });
    // Rate limiting is not a provider failure.
    expect((sms.detector as ReturnType<typeof healthDetector>).stats().calls).toBe(1);
  });

  it('queues without calling the provider while the detector says down', async () => {
    const { fake, sms } = setup({ detector: downDetector() });
    const r = await sms.send(msg('a'));
    expect(r).toMatchObject({ queued: true, reason: 'down' });
    expect(fake.sent).toEqual([]);
  });

  it('queue-when-down: the failure that trips the detector is queued, earlier ones thrown', async () => {
    const clock = manualClock(1_000_000);
    const detector = healthDetector({ minSamples: 3, errorRatio: 0.5, clock });
    const { fake, sms } = setup({ detector });
    fake.failWith(() => down);
    await expect(sms.send(msg('a'))).rejects.toBe(down);
    await expect(sms.send(msg('b'))).rejects.toBe(down);
    expect(await sms.send(msg('c'))).toMatchObject({ queued: true, reason: 'down' });
    expect(await sms.send(msg('d'))).toMatchObject({ queued: true, reason: 'down' });
  });

  it('onSendError queue and throw', async () => {
    const q = setup({ onSendError: 'queue', detector: false });
    q.fake.failWith(() => down);
    expect(await q.sms.send(msg('a'))).toMatchObject({ queued: true, reason: 'error' });
    const t = setup({ onSendError: 'throw', detector: false });
    t.fake.failWith(() => down);
    await expect(t.sms.send(msg('a'))).rejects.toBe(down);
  });

  it('never queues a message the provider refuses as invalid', async () => {
    const { fake, queue, sms } = setup({ onSendError: 'queue' });
    const invalid = new GirderError('INVALID_PHONE', 'bad number');
    fake.failWith(() => invalid);
    await expect(sms.send(msg('a'))).rejects.toBe(invalid);
    const unknownTemplate = Object.assign(new GirderError('SMS_PROVIDER_ERROR', 'no template'), {
      retryable: false,
    });
    fake.failWith(() => unknownTemplate);
    await expect(sms.send(msg('b'))).rejects.toBe(unknownTemplate);
    expect((await queue.depth()).pending).toBe(0);
    // Neither counts against the provider's health.
    expect((sms.detector as ReturnType<typeof healthDetector>).stats().calls).toBe(0);
  });

  it('a caller’s cancellation is rethrown, neither queued nor counted', async () => {
    const { fake, queue, sms } = setup({ onSendError: 'queue' });
    const controller = new AbortController();
    fake.failWith(() => {
      controller.abort();
      return controller.signal.reason as Error;
    });
    await expect(sms.send(msg('a'), controller.signal)).rejects.toBeDefined();
    expect((await queue.depth()).pending).toBe(0);
    expect((sms.detector as ReturnType<typeof healthDetector>).stats().calls).toBe(0);
    await expect(sms.send(msg('b'), controller.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(sms.send(msg('c'), {} as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('a queue failure surfaces as SMS_QUEUE_UNAVAILABLE with both errors', async () => {
    const broken = {
      ...memorySmsQueue(),
      enqueue: async () => Promise.reject(new Error('db down')),
    };
    const { sms } = setup({ queue: broken as SmsQueue, detector: downDetector() });
    const error = await sms.send(msg('a')).catch((e: unknown) => e);
    expect(isGirderError(error, 'SMS_QUEUE_UNAVAILABLE')).toBe(true);
    expect((error as Error).cause).toMatchObject({ message: 'db down' });
  });

  it('the same requestId queued twice is stored once', async () => {
    const { queue, sms } = setup({ detector: downDetector() });
    const a = await sms.send(msg('a'));
    const b = await sms.send(msg('a'));
    expect(b).toMatchObject({
      queued: true,
      duplicate: true,
      jobId: (a as unknown as { jobId: string }).jobId,
    });
    expect((await queue.depth()).pending).toBe(1);
  });

  it('refuses a malformed message with INVALID_ARGUMENT', async () => {
    const { sms } = setup();
    await expect(sms.send({ to: [], template: 'x' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('its workers send what was queued, and forward their events', async () => {
    const clock = manualClock(1_000_000);
    const fake = fakeSms(clock);
    const queue = memorySmsQueue({ clock });
    const detector = { state: 'down' as 'up' | 'down', admit: () => 'queue' as const, record() {} };
    const sms = asyncFallback(fake.svc, {
      queue,
      clock,
      detector: false,
      onSendError: 'queue',
      worker: { pollMs: 100 },
    });
    const sent = record(sms, 'sent');
    fake.failWith(() => down);
    await sms.send(msg('a'));
    fake.failWith(() => undefined);
    await clock.advanceAsync(100);
    await clock.advanceAsync(2_000);
    expect(sent.map((e) => e.requestId)).toEqual(['a']);
    expect(await queue.get('a')).toMatchObject({ status: 'sent', attempts: 1 });
    await sms.close();
    expect(sms.workers[0]?.running).toBe(false);
    void detector;
  });
});

describe('smsQueueWorker', () => {
  const setup = (maxAttempts = 3) => {
    const clock = manualClock(1_000_000);
    const fake = fakeSms(clock);
    const queue = memorySmsQueue({ clock, maxAttempts });
    const worker = smsQueueWorker(fake.svc, {
      queue,
      clock,
      leaseMs: 1_000,
      backoff: { delayMs: (attempt) => attempt * 100 },
      workerId: 'w1',
    });
    return { clock, fake, queue, worker };
  };

  it('sends queued jobs and marks them sent', async () => {
    const { fake, queue, worker } = setup();
    const claimed = record(worker, 'claimed');
    await queue.enqueue(msg('a'));
    await queue.enqueue(msg('b'));
    expect(await worker.runOnce()).toBe(2);
    expect(fake.sent.map((m) => m.requestId)).toEqual(['a', 'b']);
    expect(claimed.map((c) => [c.workerId, c.attempt])).toEqual([
      ['w1', 1],
      ['w1', 1],
    ]);
    expect(await queue.depth()).toMatchObject({ sent: 2, pending: 0 });
  });

  it('retries with the backoff, then marks the job dead after maxAttempts', async () => {
    const { clock, fake, queue, worker } = setup(3);
    const retried = record(worker, 'retried');
    const dead = record(worker, 'dead');
    fake.failWith(() => down);
    await queue.enqueue(msg('a'));
    await worker.runOnce();
    expect(retried.map((r) => r.delayMs)).toEqual([100]);
    expect(await worker.runOnce()).toBe(0); // still backing off
    clock.advance(100);
    await worker.runOnce();
    clock.advance(200);
    await worker.runOnce();
    expect(retried.map((r) => r.delayMs)).toEqual([100, 200]);
    expect(dead).toEqual([expect.objectContaining({ requestId: 'a', attempts: 3, error: down })]);
    expect(await queue.get('a')).toMatchObject({
      status: 'dead',
      lastError: 'SMS_PROVIDER_ERROR: HTTP 503',
    });
  });

  it('kills a job the provider refuses as invalid at once', async () => {
    const { fake, queue, worker } = setup(5);
    const dead = record(worker, 'dead');
    fake.failWith(() => new GirderError('INVALID_PHONE', 'bad'));
    await queue.enqueue(msg('a'));
    await worker.runOnce();
    expect(dead).toHaveLength(1);
    expect(await queue.get('a')).toMatchObject({ status: 'dead', attempts: 1 });
  });

  it('postpones a rate-limited job without using an attempt', async () => {
    const { clock, fake, queue, worker } = setup(1);
    const postponed = record(worker, 'postponed');
    const limited = Object.assign(new GirderError('RATE_LIMITED', 'slow down'), {
      retryAfterMs: 250,
    });
    fake.failWith(() => limited);
    await queue.enqueue(msg('a'));
    await worker.runOnce();
    await worker.runOnce();
    expect(postponed).toEqual([expect.objectContaining({ reason: 'rate-limited', delayMs: 250 })]);
    fake.failWith(() => undefined);
    clock.advance(250);
    await worker.runOnce();
    expect(await queue.get('a')).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('postpones while its detector says down, and probes through it', async () => {
    const clock = manualClock(1_000_000);
    const fake = fakeSms();
    const queue = memorySmsQueue({ clock });
    const detector = healthDetector({ minSamples: 1, probeEveryMs: 1_000, recoverAfter: 1, clock });
    detector.record({ ok: false, latencyMs: 1, probe: false });
    const worker = smsQueueWorker(fake.svc, { queue, clock, detector, downDelayMs: 500 });
    await queue.enqueue(msg('a'));
    await worker.runOnce();
    expect(await queue.get('a')).toMatchObject({ status: 'pending', attempts: 0 });
    clock.advance(1_000);
    await worker.runOnce(); // the probe
    expect(await queue.get('a')).toMatchObject({ status: 'sent' });
    expect(detector.state).toBe('up');
  });

  it('renews the lease during a slow send, so no other worker can take the job', async () => {
    const { clock, fake, queue, worker } = setup();
    fake.slow(2_500);
    const renewed = record(worker, 'renewed');
    await queue.enqueue(msg('a'));
    const run = worker.runOnce();
    await clock.advanceAsync(1_200);
    expect(await queue.claim('other', 1, 1_000)).toEqual([]);
    await clock.advanceAsync(1_300);
    await run;
    expect(renewed.length).toBeGreaterThanOrEqual(3);
    expect(await queue.get('a')).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('aborts the send when the lease is lost, and leaves the job to the new holder', async () => {
    const clock = manualClock(1_000_000);
    const fake = fakeSms(clock);
    const inner = memorySmsQueue({ clock });
    // A queue whose renewals fail, as when the database is unreachable.
    const queue: SmsQueue = { ...inner, renew: async () => Promise.reject(new Error('db down')) };
    const worker = smsQueueWorker(fake.svc, { queue, clock, leaseMs: 1_000 });
    const lost = record(worker, 'leaseLost');
    const errors = record(worker, 'queueError');
    fake.slow(5_000);
    await inner.enqueue(msg('a'));
    const run = worker.runOnce();
    await clock.advanceAsync(1_000);
    await run;
    expect(lost).toHaveLength(1);
    expect(errors.map((e) => e.operation)).toContain('renew');
    expect(fake.sent).toEqual([]);
    const [taken] = await inner.claim('w2', 1, 1_000);
    expect(taken).toMatchObject({ requestId: 'a', attempt: 2 });
  });

  it('reaps a job whose worker died on its last attempt', async () => {
    const { clock, queue, worker } = setup(1);
    const dead = record(worker, 'dead');
    await queue.enqueue(msg('a'));
    await queue.claim('crashed', 1, 1_000);
    clock.advance(1_000);
    await worker.runOnce();
    expect(dead).toEqual([expect.objectContaining({ requestId: 'a', attempts: 1 })]);
  });

  it('start() polls, sends, reports depth; close() waits for jobs in hand', async () => {
    const clock = manualClock(1_000_000);
    const fake = fakeSms(clock);
    const queue = memorySmsQueue({ clock });
    const worker = smsQueueWorker(fake.svc, { queue, clock, pollMs: 100, depthEveryMs: 1_000 });
    const depth = record(worker, 'depth');
    worker.start();
    worker.start();
    await clock.advanceAsync(1);
    await queue.enqueue(msg('a'));
    fake.slow(50);
    await clock.advanceAsync(100);
    const closing = worker.close();
    await clock.advanceAsync(100);
    await closing;
    expect(fake.sent.map((m) => m.requestId)).toEqual(['a']);
    expect(depth[0]).toMatchObject({ pending: 0, leased: 0, sent: 0, dead: 0 });
    expect(worker.running).toBe(false);
  });

  it('refuses bad options with INVALID_OPTIONS', () => {
    const queue = memorySmsQueue();
    const svc: SmsService = {
      send: async (): Promise<SmsResult> => ({ provider: 'x', messageIds: [], requestId: 'x' }),
    };
    for (const bad of [
      { queue, leaseMs: 10 },
      { queue, leaseMs: 1_000, renewEveryMs: 1_000 },
      { queue, concurrency: 0 },
      { queue: {} },
      { queue, zzTypo: 1 },
    ]) {
      expect(() => smsQueueWorker(svc, bad as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    }
    expect(() => smsQueueWorker({} as never, { queue })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => asyncFallback(svc, { queue, workers: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => asyncFallback(svc, { queue, worker: { zzTypo: 1 } as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
