import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { manualClock, TypedEmitter } from '../../src/core/index.js';
import { INSTANCES_ATTRIBUTE } from '../../src/grpc/attributes.js';
import {
  GrpcUnsupportedError,
  registerEtcdResolver,
  SUPPORTED_GRPC_JS,
} from '../../src/grpc/index.js';
import { checkGrpcVersion, installedGrpcVersion } from '../../src/grpc/version.js';
import {
  type Discovery,
  type DiscoveryEvents,
  type Instance,
  memoryRegistry,
  type Registry,
} from '../../src/registry/index.js';
import { uniqueScheme } from './fixtures/grpc.js';

const { experimental } = grpc;

interface Answer {
  endpoints: string[] | undefined;
  error: string | undefined;
  serviceConfigError: boolean;
  instances: Map<string, Instance> | undefined;
  note: string;
}

/** Creates the resolver grpc-js would create for `target`, recording every answer. */
function resolve(scheme: string, service: string, options: grpc.ChannelOptions = {}) {
  const answers: Answer[] = [];
  const resolver = experimental.createResolver(
    { scheme, authority: '', path: service },
    (endpoints, attributes, serviceConfig, note) => {
      answers.push({
        endpoints: endpoints.ok
          ? endpoints.value.map((e) => experimental.subchannelAddressToString(e.addresses[0]!))
          : undefined,
        error: endpoints.ok ? undefined : endpoints.error.details,
        serviceConfigError: serviceConfig !== null && !serviceConfig.ok,
        instances: attributes[INSTANCES_ATTRIBUTE] as Map<string, Instance> | undefined,
        note,
      });
      return true;
    },
    options,
  );
  return { resolver, answers };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('registerEtcdResolver on a memory registry', () => {
  it('answers with the registered endpoints, weights and metadata, then follows changes', async () => {
    const registry = memoryRegistry();
    const scheme = uniqueScheme();
    const handle = registerEtcdResolver(registry, { scheme });
    expect(handle.scheme).toBe(scheme);
    await registry.register({
      service: 'svc',
      id: 'a',
      address: '127.0.0.1:5001',
      weight: 5,
      metadata: { zone: 'x' },
    });
    const { resolver, answers } = resolve(scheme, 'svc');
    resolver.updateResolution();
    expect(answers).toHaveLength(0); // never synchronously
    await flush();
    expect(answers.at(-1)?.endpoints).toEqual(['127.0.0.1:5001']);
    const a = answers.at(-1)?.instances?.get('127.0.0.1:5001');
    expect(a).toMatchObject({ id: 'a', weight: 5, metadata: { zone: 'x' } });
    await registry.register({ service: 'svc', id: 'b', address: '127.0.0.1:5002' });
    await flush();
    expect(answers.at(-1)?.endpoints?.sort()).toEqual(['127.0.0.1:5001', '127.0.0.1:5002']);
    expect(handle.activeChannels).toBe(1);
    resolver.destroy();
    expect(handle.activeChannels).toBe(0);
    const count = answers.length;
    await registry.register({ service: 'svc', id: 'c', address: '127.0.0.1:5003' });
    await flush();
    expect(answers).toHaveLength(count); // destroyed: silent
    await handle.close();
    await registry.close();
  });

  it('rate-limits re-resolution requests to one per minResolveIntervalMs', async () => {
    const clock = manualClock(1_000);
    const registry = memoryRegistry();
    const scheme = uniqueScheme();
    registerEtcdResolver(registry, { scheme, minResolveIntervalMs: 5_000, clock });
    await registry.register({ service: 'svc', address: '127.0.0.1:5001' });
    const { resolver, answers } = resolve(scheme, 'svc');
    resolver.updateResolution();
    await flush();
    expect(answers).toHaveLength(1);
    for (let i = 0; i < 10; i++) resolver.updateResolution();
    await flush();
    expect(answers).toHaveLength(1);
    clock.advance(4_999);
    await flush();
    expect(answers).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(answers).toHaveLength(2);
    clock.advance(5_000);
    resolver.updateResolution();
    await flush();
    expect(answers).toHaveLength(3);
    resolver.destroy();
    await registry.close();
  });

  it('skips an instance whose address grpc cannot dial, and says so', async () => {
    const registry = memoryRegistry();
    const scheme = uniqueScheme();
    const handle = registerEtcdResolver(registry, { scheme });
    const errors: Error[] = [];
    handle.events.on('error', ({ error }) => errors.push(error));
    await registry.register({ service: 'svc', id: 'bad', address: 'http://example.com/x' });
    await registry.register({ service: 'svc', id: 'good', address: '[::1]:5001' });
    const { resolver, answers } = resolve(scheme, 'svc');
    resolver.updateResolution();
    await flush();
    expect(answers.at(-1)?.endpoints).toEqual(['[::1]:5001']);
    expect(errors[0]?.message).toContain('bad');
    resolver.destroy();
    await registry.close();
  });

  it('refuses a target without a service, and answers UNAVAILABLE after close', async () => {
    const registry = memoryRegistry();
    const scheme = uniqueScheme();
    const handle = registerEtcdResolver(registry, { scheme });
    const empty = resolve(scheme, '');
    empty.resolver.updateResolution();
    await flush();
    expect(empty.answers[0]?.error).toContain(`${scheme}:///<service>`);
    expect(empty.answers[0]?.serviceConfigError).toBe(true);
    await handle.close();
    const late = resolve(scheme, 'svc');
    late.resolver.updateResolution();
    await flush();
    expect(late.answers[0]?.error).toContain('closed');
    await registry.close();
  });

  it('validates its options and its registry', () => {
    const registry = memoryRegistry();
    expect(() => registerEtcdResolver(registry, { zzMisspelt: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => registerEtcdResolver(registry, { scheme: 'Not A Scheme' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => registerEtcdResolver(registry, { minResolveIntervalMs: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => registerEtcdResolver({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

/** A discovery the test drives by hand: an outage is a flag and an event. */
class HandDiscovery implements Discovery {
  readonly service = 'svc';
  readonly events = new TypedEmitter<DiscoveryEvents>();
  readonly ready = Promise.resolve();
  list: Instance[] = [];
  stale = false;
  instances() {
    return this.list;
  }
  set(list: Instance[], stale = false) {
    this.list = list;
    this.stale = stale;
    if (stale) this.events.emit('stale', { service: 'svc', error: new Error('etcd down') });
    this.events.emit('changed', { service: 'svc', instances: list });
  }
  async close() {}
  async [Symbol.asyncDispose]() {}
}

function handRegistry(discovery: HandDiscovery): Registry {
  return {
    discover: () => discovery,
    register: () => Promise.reject(new Error('not here')),
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
}

const instance = (id: string, port: number): Instance => ({
  service: 'svc',
  id,
  address: `127.0.0.1:${port}`,
  metadata: {},
  weight: 1,
});

describe('during a registry outage', () => {
  it('keeps the last endpoints, marks the answer stale, and emits stale', async () => {
    const discovery = new HandDiscovery();
    discovery.list = [instance('a', 5001), instance('b', 5002)];
    const scheme = uniqueScheme();
    const handle = registerEtcdResolver(handRegistry(discovery), { scheme });
    const stale: unknown[] = [];
    handle.events.on('stale', ({ error }) => stale.push(error));
    const { resolver, answers } = resolve(scheme, 'svc');
    resolver.updateResolution();
    await flush();
    expect(answers.at(-1)?.endpoints).toEqual(['127.0.0.1:5001', '127.0.0.1:5002']);
    // A stale discovery still serving its list: served as is.
    discovery.set(discovery.list, true);
    await flush();
    expect(answers.at(-1)?.endpoints).toEqual(['127.0.0.1:5001', '127.0.0.1:5002']);
    expect(answers.at(-1)?.note).toContain('unreachable');
    expect(stale).toHaveLength(1);
    // Even a stale empty list does not take the endpoints away.
    discovery.set([], true);
    await flush();
    expect(answers.at(-1)?.endpoints).toEqual(['127.0.0.1:5001', '127.0.0.1:5002']);
    // Fresh again: an empty list is the truth and is passed on.
    discovery.set([], false);
    await flush();
    expect(answers.at(-1)?.endpoints).toEqual([]);
    resolver.destroy();
  });
});

describe('grpc-js version check', () => {
  it('reads the installed version and accepts it', () => {
    expect(installedGrpcVersion()).toMatch(/^1\.(1[4-9]|[2-9]\d)\./);
    expect(() => checkGrpcVersion(installedGrpcVersion())).not.toThrow();
    expect(() => checkGrpcVersion(SUPPORTED_GRPC_JS)).not.toThrow();
  });

  it('refuses older, newer-major and unreadable versions with GRPC_UNSUPPORTED naming them', () => {
    for (const version of ['1.13.4', '1.9.0', '2.0.0', 'unknown']) {
      let caught: unknown;
      try {
        checkGrpcVersion(version);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(GrpcUnsupportedError);
      expect(caught).toMatchObject({
        code: 'GRPC_UNSUPPORTED',
        installed: version,
        required: SUPPORTED_GRPC_JS,
      });
      expect((caught as Error).message).toContain(version);
    }
  });
});
