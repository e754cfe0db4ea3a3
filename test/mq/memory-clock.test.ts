// The consumer loop's timings on the memory backend under a manual clock: batch wait,
// retry backoff, drain timeout and claimIdleMs takeover, without sleeping.
import { describe, expect, it } from 'vitest';
import { constant, manualClock } from '../../src/core/index.js';
import { memoryQueue, type ReceivedMessage } from '../../src/mq/index.js';

const setup = () => {
  const clock = manualClock(0);
  const queue = memoryQueue({ clock, blockMs: 100, claimIdleMs: 1_000 });
  return { clock, queue };
};

describe('memoryQueue on a manual clock', () => {
  it('a part-filled batch waits exactly batch.waitMs', async () => {
    const { clock, queue } = setup();
    await queue.producer.send('t', [{ value: '1' }, { value: '2' }, { value: '3' }]);
    const sizes: number[] = [];
    const sub = await queue.consumer.consume('t', async (b) => void sizes.push(b.length), {
      group: 'g',
      batch: { size: 10, waitMs: 1_000 },
    });
    await clock.advanceAsync(999);
    expect(sizes).toEqual([]);
    await clock.advanceAsync(1);
    expect(sizes).toEqual([3]);
    const stopping = sub.stop();
    await clock.advanceAsync(0);
    await stopping;
  });

  it('waits the backoff before a retry', async () => {
    const { clock, queue } = setup();
    await queue.producer.send('t', [{ value: 'x' }]);
    const attempts: number[] = [];
    const sub = await queue.consumer.consume(
      't',
      async (b) => {
        attempts.push(b[0]!.attempt);
        if (attempts.length === 1) throw new Error('once');
      },
      { group: 'g', retry: { maxAttempts: 3, backoff: constant({ delayMs: 5_000 }) } },
    );
    await clock.advanceAsync(4_999);
    expect(attempts).toEqual([1]);
    await clock.advanceAsync(1);
    expect(attempts).toEqual([1, 2]);
    expect(await queue.lag('t', 'g')).toMatchObject({ pending: 0, lag: 0 });
    const stopping = sub.stop();
    await clock.advanceAsync(0);
    await stopping;
  });

  it('after a drain timeout, another member gets the message once claimIdleMs has passed', async () => {
    const { clock, queue } = setup();
    await queue.producer.send('t', [{ value: 'stuck' }]);
    let signalled = false;
    const a = await queue.consumer.consume(
      't',
      async (_b, signal) => {
        signal.addEventListener('abort', () => {
          signalled = true;
        });
        await new Promise(() => {});
      },
      { group: 'g', drainTimeoutMs: 500 },
    );
    await clock.advanceAsync(0);
    const stopping = a.stop();
    await clock.advanceAsync(499);
    expect(signalled).toBe(false);
    await clock.advanceAsync(1);
    await stopping;
    expect(signalled).toBe(true);

    const got: ReceivedMessage[] = [];
    const b = await queue.consumer.consume('t', async (batch) => void got.push(...batch), {
      group: 'g',
    });
    // A held the message until its stop (last touched at 333 ms): idle from there.
    await clock.advanceAsync(799); // t = 1 299: idle 966 ms, not long enough
    expect(got).toEqual([]);
    await clock.advanceAsync(200); // t = 1 499: idle past 1 000 ms, at B's next fetch
    expect(got.map((m) => [m.text(), m.attempt])).toEqual([['stuck', 2]]);
    const stoppingB = b.stop();
    await clock.advanceAsync(0);
    await stoppingB;
  });
});
