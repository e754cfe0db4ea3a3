import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallReport, Picker } from '../../src/balancer/index.js';
import {
  builtInPolicies,
  girderChannelOptions,
  PolicyNotRegisteredError,
  registerBalancers,
  registerEtcdResolver,
  registerPickerPolicy,
} from '../../src/grpc/index.js';
import { type Instance, memoryRegistry, type Registry } from '../../src/registry/index.js';
import {
  type Client,
  callWho,
  countCalls,
  makeClient,
  startServer,
  type TestServer,
  uniqueScheme,
  untilAllAnswer,
} from './fixtures/grpc.js';

const servers: TestServer[] = [];
const clients: Client[] = [];
let registry: Registry;
let scheme: string;

beforeAll(() => {
  registerBalancers();
});

async function setUp(weights: number[], service = 'svc'): Promise<TestServer[]> {
  registry = memoryRegistry();
  scheme = uniqueScheme();
  registerEtcdResolver(registry, { scheme, minResolveIntervalMs: 50 });
  const started: TestServer[] = [];
  for (const [i, weight] of weights.entries()) {
    const server = await startServer(`s${i}`);
    await registry.register({ service, id: server.id, address: server.address, weight });
    started.push(server);
  }
  servers.push(...started);
  return started;
}

function client(policy: string, service = 'svc', config: Record<string, unknown> = {}): Client {
  const c = makeClient(`${scheme}:///${service}`, girderChannelOptions(policy, { config }));
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  await registry?.close();
});

describe('girder_swrr over real grpc-js servers', () => {
  it('registers every picker girder/balancer offers', () => {
    expect(builtInPolicies()).toContain('girder_swrr');
    for (const policy of builtInPolicies()) {
      expect(grpc.experimental.isLoadBalancerNameRegistered(policy)).toBe(true);
    }
  });

  it('splits traffic exactly by the registry weights 5:1:1', async () => {
    await setUp([5, 1, 1]);
    const c = client('girder_swrr');
    await untilAllAnswer(c, ['s0', 's1', 's2']);
    const { counts, failures } = await countCalls(c, 350);
    expect(failures).toEqual([]);
    // SWRR is exact over every window of sum(weights) picks.
    expect(Object.fromEntries(counts)).toEqual({ s0: 250, s1: 50, s2: 50 });
  });

  it('feeds failures back: a server answering UNAVAILABLE loses most of its share', async () => {
    const [s0] = await setUp([10, 10]);
    const c = client('girder_swrr');
    await untilAllAnswer(c, ['s0', 's1']);
    s0!.failWith = grpc.status.UNAVAILABLE;
    const before = s0!.served;
    const { counts, failures } = await countCalls(c, 200);
    const toS0 = s0!.served - before;
    expect(failures).toHaveLength(toS0);
    expect(counts.get('s1')).toBe(200 - toS0);
    // Equal weights would give s0 100 calls; its effective weight collapses instead.
    expect(toS0).toBeLessThan(40);
  });

  it('follows the registry: an instance added gets traffic, one removed gets none', async () => {
    const [, ,] = await setUp([1, 1]);
    const c = client('girder_swrr');
    await untilAllAnswer(c, ['s0', 's1']);
    const extra = await startServer('s2');
    servers.push(extra);
    const reg = await registry.register({
      service: 'svc',
      id: 's2',
      address: extra.address,
      weight: 2,
    });
    await untilAllAnswer(c, ['s2']);
    const after = await countCalls(c, 400);
    expect(after.counts.get('s2')).toBe(200);
    await reg.deregister();
    // The change is pushed; give the channel a few calls to apply it, then none reach s2.
    await countCalls(c, 20);
    const served = extra.served;
    const last = await countCalls(c, 100);
    expect(last.failures).toEqual([]);
    expect(extra.served).toBe(served);
    expect(last.counts.get('s0')).toBe(50);
  });

  it('moves traffic off a server that dies, failing only calls already sent to it', async () => {
    const [s0] = await setUp([1, 1, 1]);
    const c = client('girder_swrr');
    await untilAllAnswer(c, ['s0', 's1', 's2']);
    s0?.kill();
    const { counts, failures } = await countCalls(c, 300);
    // Sequential calls: at most the one in flight when the connection dropped can fail.
    expect(failures.length).toBeLessThanOrEqual(1);
    expect(counts.get('s1')! + counts.get('s2')!).toBeGreaterThanOrEqual(299);
  });
});

describe('every built-in policy over real servers', () => {
  it('girder_hash sends one key to one server, keyed by the x-girder-hash-key metadata', async () => {
    await setUp([1, 1, 1]);
    const c = client('girder_hash');
    await untilAllAnswer(c, ['s0', 's1', 's2']);
    const owners = new Map<string, Set<string>>();
    for (let i = 0; i < 60; i++) {
      const key = `user-${i % 12}`;
      const md = new grpc.Metadata();
      md.set('x-girder-hash-key', key);
      const { id, error } = await callWho(c, { metadata: md });
      expect(error).toBeUndefined();
      owners.set(key, (owners.get(key) ?? new Set()).add(id!));
    }
    for (const servedBy of owners.values()) expect(servedBy.size).toBe(1);
    // 12 keys over 3 servers: more than one server owns keys.
    expect(new Set([...owners.values()].map((set) => [...set][0])).size).toBeGreaterThan(1);
  });

  it.each([
    'girder_rr',
    'girder_random',
    'girder_weighted_random',
    'girder_p2c',
    'girder_least_active',
  ])('%s serves calls over every ready server', async (policy) => {
    await setUp([1, 1]);
    const c = client(policy);
    await untilAllAnswer(c, ['s0', 's1']);
    const { counts, failures } = await countCalls(c, 40);
    expect(failures).toEqual([]);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(40);
  });
});

/** A picker recording what the policy feeds it. */
function recordingPicker(log: {
  reports: Array<[string, CallReport]>;
  starts: string[];
  keys: Array<string | undefined>;
}): Picker {
  let instances: readonly Instance[] = [];
  let next = 0;
  return {
    kind: 'recording',
    pick(ctx) {
      log.keys.push(ctx?.key);
      if (instances.length === 0) return undefined;
      const chosen = instances[next % instances.length];
      next++;
      return chosen;
    },
    start(instance) {
      log.starts.push(instance.id);
    },
    report(instance, report) {
      log.reports.push([instance.id, report]);
    },
    update(list) {
      instances = [...list].sort((a, b) => a.id.localeCompare(b.id));
    },
  };
}

describe('registerPickerPolicy', () => {
  it('feeds start() and report() from every call, failures by status code', async () => {
    const log = {
      reports: [] as Array<[string, CallReport]>,
      starts: [] as string[],
      keys: [] as Array<string | undefined>,
    };
    registerPickerPolicy('test_recording', () => recordingPicker(log));
    const [s0] = await setUp([1]);
    const c = client('test_recording');
    expect((await callWho(c, { waitForReady: true })).id).toBe('s0');
    s0!.failWith = grpc.status.INTERNAL;
    expect((await callWho(c)).error?.code).toBe(grpc.status.INTERNAL);
    s0!.failWith = grpc.status.NOT_FOUND;
    expect((await callWho(c)).error?.code).toBe(grpc.status.NOT_FOUND);
    expect(log.starts).toEqual(['s0', 's0', 's0']);
    expect(log.reports.map(([id, r]) => [id, r.ok])).toEqual([
      ['s0', true],
      ['s0', false],
      ['s0', true], // NOT_FOUND is an answer, not a sick server
    ]);
    for (const [, r] of log.reports) expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    // Not keyed: the picker gets no context.
    expect(log.keys.every((k) => k === undefined)).toBe(true);
  });

  it('hands a keyed picker the key from the call metadata (configurable header)', async () => {
    const log = {
      reports: [] as Array<[string, CallReport]>,
      starts: [] as string[],
      keys: [] as Array<string | undefined>,
    };
    registerPickerPolicy('test_keyed', () => recordingPicker(log), {
      keyed: true,
      hashHeader: 'x-user',
    });
    await setUp([1]);
    const c = client('test_keyed');
    const md = new grpc.Metadata();
    md.set('x-user', 'alice');
    await callWho(c, { metadata: md, waitForReady: true });
    const other = client('test_keyed', 'svc', { hashHeader: 'x-tenant' });
    const md2 = new grpc.Metadata();
    md2.set('x-tenant', 'acme');
    md2.set('x-user', 'bob');
    await callWho(other, { metadata: md2, waitForReady: true });
    await callWho(c, { waitForReady: true });
    expect(log.keys.filter((k) => k !== undefined)).toEqual(['alice', 'acme']);
    expect(log.keys.at(-1)).toBeUndefined();
  });

  it('refuses a bad policy name, picker factory or option', () => {
    expect(() =>
      registerPickerPolicy('Bad-Name', () =>
        recordingPicker({ reports: [], starts: [], keys: [] }),
      ),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => registerPickerPolicy('ok_name', 'nope' as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() =>
      registerPickerPolicy(
        'ok_name',
        () => recordingPicker({ reports: [], starts: [], keys: [] }),
        { hashHeader: 'x-key-bin' },
      ),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => registerBalancers({ zzMisspelt: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => registerBalancers({ pickerOptions: { girder_nope: {} } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('the unknown-policy guard', () => {
  it('girderChannelOptions refuses a policy grpc-js does not know, and a config it rejects', () => {
    expect(() => girderChannelOptions('girder_not_there')).toThrow(PolicyNotRegisteredError);
    expect(() => girderChannelOptions('girder_not_there')).toThrow(
      expect.objectContaining({ code: 'GRPC_POLICY_NOT_REGISTERED', policy: 'girder_not_there' }),
    );
    expect(() => girderChannelOptions('girder_swrr', { config: { hashHeader: 'x' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => girderChannelOptions('girder_swrr', { zz: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    const options = girderChannelOptions('girder_swrr', {
      channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
    });
    expect(JSON.parse(String(options['grpc.service_config']))).toEqual({
      loadBalancingConfig: [{ girder_swrr: {} }],
    });
    expect(options['grpc.keepalive_time_ms']).toBe(10_000);
  });

  it('a channel naming an unregistered policy fails its calls instead of using pick_first, and recovers once it is registered', async () => {
    const [s0] = await setUp([1]);
    const serviceConfig = JSON.stringify({ loadBalancingConfig: [{ test_late: {} }] });
    const c = makeClient(`${scheme}:///svc`, { 'grpc.service_config': serviceConfig });
    clients.push(c);
    const { error } = await callWho(c);
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(error?.details).toContain('test_late');
    expect(s0!.served).toBe(0);
    registerPickerPolicy('test_late', () => recordingPicker({ reports: [], starts: [], keys: [] }));
    // grpc-js retries resolution with backoff; the guard then lets it through.
    expect((await callWho(c, { waitForReady: true, deadlineMs: 10_000 })).id).toBe('s0');
  });
});

afterAll(() => {});
