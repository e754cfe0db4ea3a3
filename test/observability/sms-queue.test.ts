// girder/sms's sync-to-async path in Prometheus: queued by reason, worker outcomes
// (sent, retried, dead), the queue depth read on scrape, and the detector's state.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GirderError, manualClock } from '../../src/core/index.js';
import { metrics } from '../../src/observability/index.js';
import {
  asyncFallback,
  healthDetector,
  memorySmsQueue,
  type SmsService,
  smsQueueWorker,
} from '../../src/sms/index.js';
import { nonZero, series } from './helpers.js';

const msg = (requestId: string) => ({ to: ['+8613800000000'], template: 'welcome', requestId });
const flaky = () => {
  let failing = false;
  const svc: SmsService = {
    async send(m) {
      if (failing) throw new GirderError('SMS_PROVIDER_ERROR', 'HTTP 503');
      return { provider: 'fake', messageIds: ['1'], requestId: m.requestId! };
    },
  };
  return {
    svc,
    fail(on: boolean) {
      failing = on;
    },
  };
};
const settle = () => new Promise((r) => setImmediate(r));

describe('metrics: sms queue', () => {
  it('counts queued messages by reason, worker outcomes, and shows depth and detector state', async () => {
    const clock = manualClock(1_000_000);
    const registry = new Registry();
    const provider = flaky();
    const queue = memorySmsQueue({ clock, maxAttempts: 2 });
    const detector = healthDetector({ minSamples: 2, errorRatio: 0.5, clock });
    const sms = asyncFallback(provider.svc, {
      queue,
      clock,
      detector,
      workers: 0,
      name: 'notify',
    });
    metrics({ registry }).watch(sms);
    await sms.send(msg('a'));
    provider.fail(true);
    await expect(sms.send(msg('b'))).resolves.toMatchObject({ queued: true, reason: 'down' });
    await sms.send(msg('c'));
    await sms.send(msg('c'));
    expect(await nonZero(registry, 'girder_sms_queue_enqueued_total')).toEqual({
      'name=notify,reason=down': 3,
    });
    await registry.metrics(); // the first scrape starts the depth read
    await settle();
    expect(await series(registry, 'girder_sms_queue_depth')).toMatchObject({
      'name=notify,status=pending': 2,
      'name=notify,status=dead': 0,
    });
    expect(await series(registry, 'girder_sms_detector_down')).toEqual({ 'name=notify': 1 });

    // A worker on the same queue, watched under the same name: its outcomes add up.
    const worker = smsQueueWorker(provider.svc, {
      queue,
      clock,
      name: 'notify',
      backoff: { delayMs: () => 0 },
    });
    metrics({ registry }).watch(worker);
    await worker.runOnce(); // both fail: retried
    await worker.runOnce(); // both fail again: dead
    provider.fail(false);
    await sms.send(msg('d')); // detector still down: queued
    await worker.runOnce(); // sent
    expect(await nonZero(registry, 'girder_sms_queue_events_total')).toEqual({
      'kind=claimed,name=notify': 5,
      'kind=dead,name=notify': 2,
      'kind=direct_failed,name=notify': 1,
      'kind=direct_sent,name=notify': 1,
      'kind=duplicate,name=notify': 1,
      'kind=enqueued,name=notify': 3,
      'kind=retried,name=notify': 2,
      'kind=sent,name=notify': 1,
    });
    expect(await nonZero(registry, 'girder_sms_queue_wait_seconds')).toEqual({ 'name=notify': 1 });
    await registry.metrics();
    await settle();
    expect(await series(registry, 'girder_sms_queue_depth')).toMatchObject({
      'name=notify,status=pending': 0,
      'name=notify,status=sent': 1,
      'name=notify,status=dead': 2,
    });
  });

  it('takes the depth a running worker reports', async () => {
    const clock = manualClock(1_000_000);
    const registry = new Registry();
    const queue = memorySmsQueue({ clock });
    const worker = smsQueueWorker(flaky().svc, { queue, clock, depthEveryMs: 1_000 });
    metrics({ registry }).watch(worker, { name: 'w' });
    await queue.enqueue(msg('a'));
    worker.start();
    await clock.advanceAsync(1);
    await worker.close();
    expect(await nonZero(registry, 'girder_sms_queue_events_total')).toEqual({
      'kind=claimed,name=w': 1,
      'kind=sent,name=w': 1,
    });
    expect(await series(registry, 'girder_sms_queue_depth')).toMatchObject({
      'name=w,status=pending': 1, // as reported before the claim
    });
  });

  it('unwatch stops counting', async () => {
    const registry = new Registry();
    const sms = asyncFallback(flaky().svc, {
      queue: memorySmsQueue(),
      workers: 0,
      detector: { state: 'down', admit: () => 'queue', record() {} },
    });
    const off = metrics({ registry }).watch(sms, { name: 's' });
    await sms.send(msg('a'));
    off();
    await sms.send(msg('b'));
    expect(await nonZero(registry, 'girder_sms_queue_enqueued_total')).toEqual({
      'name=s,reason=down': 1,
    });
  });
});
