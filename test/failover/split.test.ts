import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/index.js';
import { stickyBucket, trafficSplit } from '../../src/failover/index.js';
import { FakeSms, optionPaths, type Sms } from './fakes.js';

/** A deterministic random source cycling through 0, 0.01, ..., 0.99. */
function steps() {
  let i = 0;
  return () => (i++ % 100) / 100;
}

describe('trafficSplit', () => {
  it('routes exactly percent% of calls to primary with an even random source', async () => {
    const primary = new FakeSms('grpc');
    const secondary = new FakeSms('local');
    const svc: Sms = trafficSplit({ primary, secondary, percent: 30, random: steps() });
    for (let i = 0; i < 1_000; i++) await svc.send('1');
    expect([primary.calls, secondary.calls]).toEqual([300, 700]);
  });

  it('0 sends nothing to primary and 100 sends everything, for any random value in [0, 1)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (r) => {
        const none = trafficSplit<Sms>({
          primary: new FakeSms('p'),
          secondary: new FakeSms('s'),
          percent: 0,
          random: () => r,
        });
        const all = trafficSplit<Sms>({
          primary: new FakeSms('p'),
          secondary: new FakeSms('s'),
          percent: 100,
          random: () => r,
        });
        expect(await none.send('1')).toBe('s:ok');
        expect(await all.send('1')).toBe('p:ok');
      }),
    );
  });

  it('setPercent changes the split live, validates its input and emits percent', async () => {
    const primary = new FakeSms('p');
    const secondary = new FakeSms('s');
    const svc = trafficSplit<Sms>({ primary, secondary, percent: 0, random: steps() });
    const control = svc.control;
    const changes: unknown[] = [];
    svc.events.on('percent', (e) => changes.push(e));

    for (let i = 0; i < 100; i++) await svc.send('1');
    control.setPercent(25);
    for (let i = 0; i < 100; i++) await svc.send('1');
    control.setPercent(100);
    for (let i = 0; i < 100; i++) await svc.send('1');
    control.setPercent(0); // roll back
    for (let i = 0; i < 100; i++) await svc.send('1');
    expect([primary.calls, secondary.calls]).toEqual([125, 275]);
    expect(control.percent).toBe(0);
    expect(changes).toEqual([
      { from: 0, to: 25 },
      { from: 25, to: 100 },
      { from: 100, to: 0 },
    ]);

    for (const bad of [
      -1,
      100.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '50' as unknown as number,
    ]) {
      const err = (() => {
        try {
          control.setPercent(bad);
        } catch (e) {
          return e as InvalidArgumentError;
        }
      })();
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err?.argument).toBe('percent');
    }
    expect(control.percent).toBe(0);
    control.setPercent(12.5); // fractions are fine
    expect(control.percent).toBe(12.5);
  });

  it('sticky keys: the same key always lands on the same side', async () => {
    const primary = new FakeSms('p');
    const secondary = new FakeSms('s');
    const svc = trafficSplit<Sms>({
      primary,
      secondary,
      percent: 50,
      key: (_m, [phone]) => phone as string,
    });
    const first = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let user = 0; user < 200; user++) {
        const phone = `+86138${user}`;
        const side = await svc.send(phone);
        if (round === 0) first.set(phone, side);
        else expect(side).toBe(first.get(phone));
      }
    }
    const onPrimary = [...first.values()].filter((s) => s === 'p:ok').length;
    expect(onPrimary).toBeGreaterThan(70); // ~100 of 200 with an even hash
    expect(onPrimary).toBeLessThan(130);
  });

  it('property: raising the percentage only moves sticky keys from secondary to primary', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (key, p1, p2) => {
          const [low, high] = p1 <= p2 ? [p1, p2] : [p2, p1];
          const bucket = stickyBucket(key);
          expect(bucket).toBeGreaterThanOrEqual(0);
          expect(bucket).toBeLessThan(100);
          if (bucket < low) expect(bucket < high).toBe(true);
        },
      ),
    );
  });

  it('sticky buckets spread sequential ids evenly', () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) counts[Math.floor(stickyBucket(`user-${i}`) / 10)]++;
    for (const c of counts) {
      expect(c).toBeGreaterThan(850);
      expect(c).toBeLessThan(1_150);
    }
  });

  it('a key returning undefined falls back to the random pick', async () => {
    const svc = trafficSplit<Sms>({
      primary: new FakeSms('p'),
      secondary: new FakeSms('s'),
      percent: 50,
      random: () => 0.9,
      key: () => undefined,
    });
    expect(await svc.send('1')).toBe('s:ok');
  });

  it('emits route while someone listens, keeps the interface and does not fail over', async () => {
    const primary = new FakeSms('p').failing('primary broke');
    const svc = trafficSplit<Sms>({ primary, secondary: new FakeSms('s'), percent: 100 });
    const routes: unknown[] = [];
    svc.events.on('route', (e) => routes.push(e));
    await expect(svc.send('1')).rejects.toThrow('primary broke');
    expect(routes).toEqual([{ to: 'primary', method: 'send', sticky: false }]);
    expect(svc.name).toBe('p');
    await expect(svc.balance()).resolves.toBe(100);
  });

  it('rejects bad options naming each field', () => {
    const s = new FakeSms('s');
    expect(
      optionPaths(() =>
        // @ts-expect-error wrong types on purpose
        trafficSplit({ primary: null, secondary: s, percent: 101, random: 0.5, key: 'id' }),
      ),
    ).toEqual(['primary', 'percent', 'random', 'key']);
    // @ts-expect-error percent is required
    expect(optionPaths(() => trafficSplit({ primary: s, secondary: s }))).toEqual(['percent']);
    expect(() =>
      trafficSplit<{ send(): Promise<void> }>({
        primary: { send: async () => {} },
        secondary: {} as never,
        percent: 5,
      }),
    ).toThrow(/secondary: has no method "send"/);
  });
});
