// loadAwareElection on real Redis (single node and Cluster). Timers run on a manual
// clock; lease and load expiry run on the Redis server's clock.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ManualClock, manualClock } from '../../src/core/index.js';
import {
  type LoadAwareElection,
  type LoadAwareElectionOptions,
  loadAwareElection,
} from '../../src/jobs/index.js';
import {
  openRedisClient,
  type RedisBackendClient,
  sharedRedisUrl,
  uniquePrefix,
} from '../harness/index.js';
import { nextEvent } from './helpers.js';

const PUBLISH = 1_000;

interface Node {
  election: LoadAwareElection;
  load: number;
}

describe.each(['redis', 'redis-cluster'] as const)('loadAwareElection on %s', (backend) => {
  let client: RedisBackendClient;
  beforeAll(async () => {
    client = await openRedisClient(backend);
  });
  afterAll(() => client.disconnect());

  /** A group of nodes on one manual clock; `step` advances one publish period and waits for every node's publish. */
  const group = (
    prefix: string,
    clock: ManualClock,
    extra: Partial<LoadAwareElectionOptions> = {},
  ) => {
    const nodes: Node[] = [];
    const add = async (load: number) => {
      const node: Node = { load, election: undefined as never };
      const published = new Promise((resolve) => {
        node.election = loadAwareElection(client, {
          name: 'hot',
          prefix,
          load: () => node.load,
          ttlMs: 60_000,
          publishEveryMs: PUBLISH,
          tolerance: 10,
          handoverMargin: 20,
          sustainMs: 3_000,
          clock,
          ...extra,
        });
        node.election.events.once('published', resolve);
      });
      nodes.push(node);
      await published;
      return node;
    };
    const step = async (ms = PUBLISH) => {
      const live = nodes.filter((n) => !closed.has(n));
      const all = Promise.all(live.map((n) => nextEvent(n.election.events, 'published')));
      await clock.advanceAsync(ms);
      await all;
    };
    const closed = new Set<Node>();
    const close = async (node: Node) => {
      closed.add(node);
      await node.election.close();
    };
    const leaders = () => nodes.filter((n) => n.election.isLeader);
    const closeAll = () => Promise.all(nodes.filter((n) => !closed.has(n)).map(close));
    return { nodes, add, step, leaders, close, closeAll };
  };

  it('picks a low-load node in at least 90% of trials with random loads', async () => {
    const trials = backend === 'redis' ? 30 : 10;
    let lowPicks = 0;
    for (let trial = 0; trial < trials; trial++) {
      const clock = manualClock(0);
      const g = group(uniquePrefix('load aware trial').slice(0, -1), clock);
      // Five nodes start at random moments within one publish period.
      for (let i = 0; i < 5; i++) {
        await g.add(Math.round(Math.random() * 100));
        await clock.advanceAsync(Math.floor(Math.random() * (PUBLISH / 5)));
      }
      // Nobody competes during the warm-up; then the first publish after it elects.
      expect(g.leaders()).toHaveLength(0);
      await g.step();
      await g.step();
      const leaders = g.leaders();
      expect(leaders).toHaveLength(1);
      const lowest = Math.min(...g.nodes.map((n) => n.load));
      if ((leaders[0]?.load ?? 101) <= lowest + 10) lowPicks += 1;
      await g.closeAll();
    }
    expect(lowPicks / trials).toBeGreaterThanOrEqual(0.9);
  }, 60_000);

  it('hands leadership over only after a sustained excess, without flapping', async () => {
    const clock = manualClock(0);
    const g = group(uniquePrefix('load aware handover').slice(0, -1), clock);
    const a = await g.add(10);
    const b = await g.add(30);
    await g.step();
    expect(g.leaders()).toEqual([a]);
    const elected: string[] = [];
    const demoted: string[] = [];
    for (const [id, n] of [
      ['a', a],
      ['b', b],
    ] as const) {
      n.election.events.on('elected', () => elected.push(id));
      n.election.events.on('demoted', ({ reason }) => demoted.push(`${id}:${reason}`));
    }
    // Above b but within the margin: a keeps leading however long it lasts.
    a.load = 45;
    for (let i = 0; i < 6; i++) await g.step();
    expect(g.leaders()).toEqual([a]);
    // A short spike past the margin (shorter than sustainMs) changes nothing.
    a.load = 60;
    await g.step();
    await g.step();
    a.load = 40;
    await g.step();
    expect(g.leaders()).toEqual([a]);
    // A sustained excess: a steps down, b takes over at its next publish.
    a.load = 60;
    for (let i = 0; i < 5; i++) await g.step();
    expect(demoted).toEqual(['a:handover']);
    expect(g.leaders()).toEqual([b]);
    // a's load falls back below b's, but b keeps leading (within its margin).
    a.load = 20;
    for (let i = 0; i < 6; i++) await g.step();
    expect(g.leaders()).toEqual([b]);
    expect(elected).toEqual(['b']);
    expect(a.election.bestPeerLoad).toBe(30);
    await g.closeAll();
  });

  it('frees the lease on close: the remaining node takes over at its next publish', async () => {
    const clock = manualClock(0);
    const g = group(uniquePrefix('load aware close').slice(0, -1), clock);
    const a = await g.add(5);
    const b = await g.add(70);
    await g.step();
    expect(g.leaders()).toEqual([a]);
    const aTerm = a.election.term ?? 0;
    // b is too loaded to compete while a is alive.
    await g.step();
    expect(b.election.isLeader).toBe(false);
    await g.close(a);
    await g.step();
    expect(g.leaders()).toEqual([b]);
    expect(b.election.term).toBeGreaterThan(aTerm);
    await g.closeAll();
  });

  it('refuses bad options and a bad load', async () => {
    const base = { name: 'x', load: () => 1 };
    for (const bad of [
      { ttlMs: 1_000, publishEveryMs: 600 },
      { tolerance: 30, handoverMargin: 10 },
      { tolerance: -1 },
      { prefix: 'a{b}' },
    ]) {
      expect(() => loadAwareElection(client, { ...base, ...bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    }
    expect(() => loadAwareElection({} as never, base)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const clock = manualClock(0);
    const e = loadAwareElection(client, {
      name: 'bad-load',
      prefix: uniquePrefix('load aware bad').slice(0, -1),
      load: () => 150,
      clock,
    });
    const error = await nextEvent(e.events, 'error');
    expect(error.error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(e.load).toBeUndefined();
    await e.close();
  });
});

describe('loadAwareElection when the chosen node dies (real time)', () => {
  it('another node takes over once the dead leader’s lease and load have expired', async () => {
    const prefix = uniquePrefix('load aware death').slice(0, -1);
    const ttlMs = 600;
    const common = { name: 'hot', prefix, ttlMs, publishEveryMs: 100, tolerance: 10 };
    const clientA = new Redis(sharedRedisUrl(), { maxRetriesPerRequest: 0 });
    const clientB = new Redis(sharedRedisUrl());
    const a = loadAwareElection(clientA, { ...common, load: () => 5 });
    const b = loadAwareElection(clientB, { ...common, load: () => 50 });
    try {
      await nextEvent(a.events, 'elected');
      await nextEvent(b.events, 'published');
      expect(b.isLeader).toBe(false);
      // a "dies": its connection is gone, it can neither renew nor leave.
      const aDemoted = nextEvent(a.events, 'demoted');
      const bElected = nextEvent(b.events, 'elected');
      const diedAt = Date.now();
      clientA.disconnect();
      expect(await aDemoted).toMatchObject({ reason: 'lost' });
      await bElected;
      // Not before a's lease could have run out: its last renewal was at most one
      // publish period before it died.
      expect(Date.now() - diedAt).toBeGreaterThanOrEqual(ttlMs - 100 - 20);
      expect(b.isLeader).toBe(true);
    } finally {
      await a.close();
      await b.close();
      clientB.disconnect();
    }
  });
});
