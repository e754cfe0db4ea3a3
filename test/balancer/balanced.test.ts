import { describe, expect, it } from 'vitest';
import {
  type BalancedEvents,
  balanced,
  NoInstanceError,
  p2cEwma,
  roundRobin,
  smoothWeightedRoundRobin,
} from '../../src/balancer/index.js';
import { AbortedError, manualClock } from '../../src/core/index.js';
import type { Instance } from '../../src/registry/types.js';
import { inst, many } from './fixtures.js';
import { staticDiscovery } from './static-discovery.js';

describe('balanced', () => {
  it('calls the picked instance and follows the discovery', async () => {
    const d = staticDiscovery('orders', [inst('a', 2), inst('b', 1)]);
    const call = balanced(d, smoothWeightedRoundRobin(), async (i) => i.id);
    expect(await Promise.all([call(), call(), call()])).toEqual(['a', 'b', 'a']);
    d.set([inst('c')]);
    expect(await call()).toBe('c');
    await call.close();
    d.set([inst('z')]);
    expect(await call()).toBe('c');
  });

  it('times calls on the clock and reports them to the picker', async () => {
    const clock = manualClock();
    const d = staticDiscovery('orders', [inst('a')]);
    const picker = p2cEwma({ clock });
    const seen: BalancedEvents['call'][] = [];
    const call = balanced(
      d,
      picker,
      async () => {
        clock.advance(25);
        return 1;
      },
      { clock },
    );
    call.events.on('call', (e) => seen.push(e));
    await call();
    expect(picker.latencyOf(inst('a'))).toBe(25);
    expect(seen).toMatchObject([{ name: 'orders', attempt: 1, outcome: 'ok', latencyMs: 25 }]);
  });

  it('retries a failure on another instance', async () => {
    const d = staticDiscovery('svc', many(3));
    const tried: string[] = [];
    const call = balanced(
      d,
      roundRobin(),
      async (i) => {
        tried.push(i.id);
        if (i.id !== 'i2') throw new Error(`${i.id} down`);
        return 'done';
      },
      { retry: { attempts: 3 } },
    );
    expect(await call()).toBe('done');
    expect(tried).toEqual(['i0', 'i1', 'i2']);
  });

  it('retries on an untried instance even when the picker returns the failed one again', async () => {
    const d = staticDiscovery('svc', [inst('heavy', 10), inst('light', 1)]);
    const tried: string[] = [];
    const call = balanced(
      d,
      smoothWeightedRoundRobin(),
      async (i) => {
        tried.push(i.id);
        throw new Error('down');
      },
      { retry: { attempts: 2 } },
    );
    await expect(call()).rejects.toThrow('down');
    expect(tried).toEqual(['heavy', 'light']);
  });

  it('throws the last error when every attempt fails, and NoInstanceError with no instance', async () => {
    const d = staticDiscovery('svc', many(2));
    let n = 0;
    const call = balanced(
      d,
      roundRobin(),
      async () => {
        n++;
        throw new Error(`failure ${n}`);
      },
      { retry: { attempts: 2 } },
    );
    await expect(call()).rejects.toThrow('failure 2');
    d.set([]);
    const none: unknown[] = [];
    call.events.on('noInstance', (e) => none.push(e));
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoInstanceError);
    expect(err).toMatchObject({ code: 'NO_INSTANCE', service: 'svc' });
    expect(none).toEqual([{ name: 'svc', service: 'svc' }]);
  });

  it('does not retry or blame the instance for errors isFailure rejects', async () => {
    const d = staticDiscovery('svc', many(2));
    const picker = smoothWeightedRoundRobin();
    let calls = 0;
    const call = balanced(
      d,
      picker,
      async () => {
        calls++;
        throw new RangeError('not found');
      },
      { retry: { attempts: 3 }, isFailure: (e) => !(e instanceof RangeError) },
    );
    await expect(call()).rejects.toThrow(RangeError);
    expect(calls).toBe(1);
    expect(picker.effectiveWeight(inst('i0'))).toBe(1);
  });

  it('treats the caller abort as a cancellation: no retry, no failure reported', async () => {
    const d = staticDiscovery('svc', [inst('a', 4), inst('b', 4)]);
    const picker = smoothWeightedRoundRobin();
    const controller = new AbortController();
    const outcomes: string[] = [];
    const call = balanced(
      d,
      picker,
      async (_i: Instance, signal) => {
        controller.abort(new Error('user left'));
        throw signal.reason;
      },
      { retry: { attempts: 3 } },
    );
    call.events.on('call', (e) => outcomes.push(e.outcome));
    await expect(call({ signal: controller.signal })).rejects.toThrow('user left');
    expect(outcomes).toEqual(['cancelled']);
    expect(picker.effectiveWeight(inst('a'))).toBe(4);
    await expect(call({ signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  it('passes the key to the picker and a live signal to the call', async () => {
    const d = staticDiscovery('svc', many(4));
    const keys: (string | undefined)[] = [];
    const picker = roundRobin();
    const spy = {
      kind: 'spy',
      pick: (ctx?: { key?: string }) => {
        keys.push(ctx?.key);
        return picker.pick();
      },
      report: picker.report.bind(picker),
      update: picker.update.bind(picker),
    };
    const call = balanced(d, spy, async (_i, signal) => signal.aborted);
    expect(await call({ key: 'k1' })).toBe(false);
    expect(keys).toEqual(['k1']);
  });

  it('rejects bad arguments', async () => {
    const d = staticDiscovery('svc', many(1));
    expect(() => balanced({} as never, roundRobin(), async () => 1)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => balanced(d, {} as never, async () => 1)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => balanced(d, roundRobin(), 'x' as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => balanced(d, roundRobin(), async () => 1, { retry: { attempts: 0 } })).toThrow(
      /retry.attempts/,
    );
    const call = balanced(d, roundRobin(), async () => 1);
    await expect(call({ signal: 'x' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(call({ key: 3 as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(call(null as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
