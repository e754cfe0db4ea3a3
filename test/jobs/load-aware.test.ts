// loadAwareElection on real Redis (single node and Cluster). Timers run on a manual
// clock; lease and load expiry run on the Redis server's clock.
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ManualClock, manualClock, sleep } from '../../src/core/index.js';
import {
  type LoadAwareElection,
  type LoadAwareElectionOptions,
  loadAwareElection,
} from '../../src/jobs/index.js';
import { bundledEntry } from '../harness/bundle.js';
import {
  openRedisClient,
  type RedisBackendClient,
  sharedRedisUrl,
  uniquePrefix,
} from '../harness/index.js';
import { monotonicMs } from './fixtures/monotonic.js';
import { nextEvent, workerLines } from './helpers.js';

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

  it('picks a low-load node in at least 90% of trials with random loads (manual clock)', async () => {
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

describe('loadAwareElection with independent electors (real time, real Redis)', () => {
  it('picks a low-load node in at least 90% of trials with random loads', async () => {
    // Each node has its own client and the system clock, as separate instances would;
    // five trials run at once on their own prefixes to keep the file short.
    const TRIALS = 20;
    const PARALLEL = 5;
    const publishEveryMs = 100;
    const trial = async (): Promise<boolean> => {
      const prefix = uniquePrefix('load aware real trial').slice(0, -1);
      const loads = Array.from({ length: 5 }, () => Math.round(Math.random() * 100));
      const clients = loads.map(() => new Redis(sharedRedisUrl()));
      const nodes: LoadAwareElection[] = [];
      try {
        const elected = new Promise<number>((resolve) => {
          loads.forEach((load, i) => {
            // Started at random moments, all within the first node's warm-up.
            setTimeout(
              () => {
                const node = loadAwareElection(clients[i]!, {
                  name: 'hot',
                  prefix,
                  load: () => load,
                  ttlMs: 2_000,
                  publishEveryMs,
                  // Every node has published before the first may compete.
                  warmupMs: 3 * publishEveryMs,
                  tolerance: 10,
                });
                node.events.once('elected', () => resolve(load));
                nodes.push(node);
              },
              i === 0 ? 0 : Math.floor((Math.random() * publishEveryMs) / 5) * i,
            );
          });
        });
        const winner = await elected;
        return winner <= Math.min(...loads) + 10;
      } finally {
        await sleep(publishEveryMs); // let late starters exist before closing them
        await Promise.all(nodes.map((n) => n.close()));
        for (const c of clients) c.disconnect();
      }
    };
    let lowPicks = 0;
    for (let done = 0; done < TRIALS; done += PARALLEL) {
      const picks = await Promise.all(Array.from({ length: PARALLEL }, trial));
      lowPicks += picks.filter(Boolean).length;
    }
    expect(lowPicks / TRIALS).toBeGreaterThanOrEqual(0.9);
  }, 60_000);
});

interface WorkerLine {
  event: 'ready' | 'elected' | 'demoted';
  load: number;
  pid: number;
  mono: number;
}

const WORKER = fileURLToPath(new URL('./fixtures/load-aware-worker.ts', import.meta.url));
// Slack on the takeover bound for late timers and stdout on a CPU-starved CI box; below
// the TTL, so a takeover that waited for an extra lease period still fails.
const TAKEOVER_SLACK_MS = 750;

describe('loadAwareElection when the chosen node dies (processes, SIGKILL)', () => {
  const workers = workerLines<WorkerLine>();
  afterAll(() => workers.killAll());

  it('the surviving low-load node takes over within TTL + one publish; the loaded one never leads', async () => {
    const prefix = uniquePrefix('load aware death').slice(0, -1);
    const ttlMs = 1_000;
    const publishEveryMs = 100;
    const { lines, until } = workers;
    const elections = () => lines.filter((l) => l.event === 'elected');
    // Two low-load nodes (within the tolerance of 10) and one far above them.
    const worker = await bundledEntry(WORKER);
    const spawn = (load: number) =>
      workers.spawn(worker, [
        sharedRedisUrl(),
        prefix,
        String(load),
        String(ttlMs),
        String(publishEveryMs),
      ]);
    // The loaded node starts once the low-load ones are up: a node alone in the cluster
    // is its lowest load, and this test is about the chosen node dying, not start-up order.
    spawn(5);
    spawn(9);
    await until(() => lines.filter((l) => l.event === 'ready').length === 2);
    spawn(60);
    await until(() => lines.filter((l) => l.event === 'ready').length === 3);
    await until(() => elections().length > 0);
    const first = elections()[0]!;
    expect([5, 9]).toContain(first.load);
    const chosen = workers.children.find((c) => c.pid === first.pid)!;
    const killedAt = monotonicMs();
    chosen.kill('SIGKILL');
    await until(() => elections().length === 2);
    const second = elections()[1]!;
    expect(second.pid).not.toBe(first.pid);
    expect(second.load).toBe(first.load === 5 ? 9 : 5);
    const takeoverMs = second.mono - killedAt;
    // The dead node renewed its lease at most one publish before the kill, so the lease
    // lived on for at least ttl - publishEveryMs (50 ms for where each side reads its clock).
    expect(takeoverMs).toBeGreaterThanOrEqual(ttlMs - publishEveryMs - 50);
    // ... and at most ttl after it; the survivor competes at its next publish after that.
    expect(takeoverMs).toBeLessThanOrEqual(ttlMs + publishEveryMs + TAKEOVER_SLACK_MS);
    await sleep(ttlMs);
    expect(elections()).toHaveLength(2);
  }, 90_000);
});
