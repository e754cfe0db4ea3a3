import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type LiveConfig, memoryConfigStore, watchConfig } from '../../src/registry/index.js';
import { sharedEtcdEndpoints, uniquePrefix } from '../harness/index.js';

const Limits = z.strictObject({ perSecond: z.number().int().positive(), burst: z.number().int() });
type Limits = z.output<typeof Limits>;

const etcd = new Etcd3({ hosts: sharedEtcdEndpoints() });
afterAll(() => etcd.close());

function nextOf<K extends 'changed' | 'rejected' | 'removed'>(
  config: LiveConfig<Limits>,
  event: K,
) {
  return new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), 8_000);
    config.events.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

interface Source {
  name: string;
  open(): {
    source: Parameters<typeof watchConfig>[0];
    set(raw: string): Promise<void>;
    del(): Promise<void>;
    key: string;
  };
}

const sources: Source[] = [
  {
    name: 'memory',
    open() {
      const store = memoryConfigStore();
      const key = 'limits';
      return {
        source: store,
        key,
        set: async (raw) => store.set(key, raw),
        del: async () => store.delete(key),
      };
    },
  },
  {
    name: 'etcd',
    open() {
      const key = `${uniquePrefix('config', '/')}limits`;
      return {
        source: etcd,
        key,
        set: async (raw) => {
          await etcd.put(key).value(raw);
        },
        del: async () => {
          await etcd.delete().key(key);
        },
      };
    },
  },
];

for (const s of sources) {
  describe(`watchConfig [${s.name}]`, () => {
    it('reads the current value, then follows valid updates', async () => {
      const { source, key, set } = s.open();
      await set(JSON.stringify({ perSecond: 10, burst: 20 }));
      const config = watchConfig(source, key, Limits);
      await config.ready;
      expect(config.value).toEqual({ perSecond: 10, burst: 20 });
      const changed = nextOf(config, 'changed');
      await set(JSON.stringify({ perSecond: 50, burst: 5 }));
      expect(await changed).toEqual({
        key,
        value: { perSecond: 50, burst: 5 },
        previous: { perSecond: 10, burst: 20 },
      });
      expect(config.value).toEqual({ perSecond: 50, burst: 5 });
      await config.close();
    });

    it('rejects an invalid update with the zod issues and keeps the last good value', async () => {
      const { source, key, set } = s.open();
      const config = watchConfig(source, key, Limits, { initial: { perSecond: 1, burst: 1 } });
      await config.ready;
      expect(config.value).toEqual({ perSecond: 1, burst: 1 });
      const rejected = nextOf(config, 'rejected');
      await set(JSON.stringify({ perSecond: -3, burst: 1, extra: true }));
      const event = (await rejected) as { issues: { path: string }[]; raw: string };
      expect(event.issues.map((i) => i.path).sort()).toEqual(['', 'perSecond']);
      expect(config.value).toEqual({ perSecond: 1, burst: 1 });

      const notJson = nextOf(config, 'rejected');
      await set('{perSecond: 2');
      expect(((await notJson) as { issues: { message: string }[] }).issues[0]!.message).toMatch(
        /not JSON/,
      );
      expect(config.value).toEqual({ perSecond: 1, burst: 1 });

      // A valid value after the bad ones is taken.
      const changed = nextOf(config, 'changed');
      await set(JSON.stringify({ perSecond: 2, burst: 2 }));
      await changed;
      expect(config.value).toEqual({ perSecond: 2, burst: 2 });
      await config.close();
    });

    it('a deleted key keeps the last good value', async () => {
      const { source, key, set, del } = s.open();
      await set(JSON.stringify({ perSecond: 3, burst: 3 }));
      const config = watchConfig(source, key, Limits);
      await config.ready;
      const removed = nextOf(config, 'removed');
      await del();
      await removed;
      expect(config.value).toEqual({ perSecond: 3, burst: 3 });
      await config.close();
    });

    it('a missing key leaves the initial value (or undefined) and resolves ready', async () => {
      const { source, key } = s.open();
      const a = watchConfig(source, key, Limits);
      const b = watchConfig(source, key, Limits, { initial: { perSecond: 9, burst: 0 } });
      await Promise.all([a.ready, b.ready]);
      expect(a.value).toBeUndefined();
      expect(b.value).toEqual({ perSecond: 9, burst: 0 });
      await a.close();
      await b.close();
    });

    it('after close, updates are not applied', async () => {
      const { source, key, set } = s.open();
      await set(JSON.stringify({ perSecond: 4, burst: 4 }));
      const config = watchConfig(source, key, Limits);
      await config.ready;
      await config.close();
      let heard = 0;
      config.events.on('changed', () => heard++);
      await set(JSON.stringify({ perSecond: 5, burst: 5 }));
      // A second watcher proves the update went out.
      const other = watchConfig(source, key, Limits);
      await other.ready;
      expect(other.value).toEqual({ perSecond: 5, burst: 5 });
      expect(heard).toBe(0);
      expect(config.value).toEqual({ perSecond: 4, burst: 4 });
      await other.close();
    });
  });
}

describe('watchConfig input checks', () => {
  it('bad source, key, schema or initial is INVALID_ARGUMENT; bad options INVALID_OPTIONS', () => {
    const store = memoryConfigStore();
    const bad: (() => unknown)[] = [
      () => watchConfig({} as never, 'k', Limits),
      () => watchConfig(store, '', Limits),
      () => watchConfig(store, 'k', {} as never),
      () => watchConfig(store, 'k', Limits, { initial: { perSecond: 0, burst: 0 } }),
    ];
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => watchConfig(store, 'k', Limits, { zz: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
