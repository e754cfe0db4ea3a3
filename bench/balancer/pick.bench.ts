// Pick throughput of the pure-CPU pickers. Each pick is a synchronous loop over arrays
// with no I/O and no awaits, so concurrent callers in one process would only interleave
// the same synchronous calls: sequential rounds measure everything there is to measure.
//
// No npm library offers these pickers, so each girder picker is compared with the
// simplest correct implementation of the same algorithm, written below the way one
// would inline it (an object per instance, fields mutated in place).
import { consistentHash, p2cEwma, smoothWeightedRoundRobin } from 'girder/balancer';
import type { BenchSuite } from '../harness.js';

interface Inst {
  service: string;
  id: string;
  address: string;
  metadata: Record<string, string>;
  weight: number;
}

const instances = (n: number): Inst[] =>
  Array.from({ length: n }, (_, i) => ({
    service: 'svc',
    id: `node-${i}`,
    address: `10.0.${i >> 8}.${i & 255}:50051`,
    metadata: {},
    weight: 1 + (i % 5),
  }));

let sink = 0;

// --- the simple references -------------------------------------------------------

/** SWRR on an array of objects, as the algorithm is usually written. */
function simpleSwrr(list: Inst[]) {
  const peers = list.map((instance) => ({
    instance,
    weight: instance.weight,
    effective: instance.weight,
    current: 0,
  }));
  return () => {
    let total = 0;
    let best: (typeof peers)[number] | undefined;
    for (const p of peers) {
      p.current += p.effective;
      total += p.effective;
      if (best === undefined || p.current > best.current) best = p;
    }
    if (best === undefined) return undefined;
    best.current -= total;
    return best.instance;
  };
}

/** p2c over objects holding an EWMA and an in-flight count. */
function simpleP2c(list: Inst[]) {
  const peers = list.map((instance, i) => ({ instance, ewma: 10 + (i % 7), inflight: 0 }));
  return () => {
    const a = peers[Math.floor(Math.random() * peers.length)] as (typeof peers)[number];
    let b = peers[Math.floor(Math.random() * peers.length)] as (typeof peers)[number];
    while (b === a) b = peers[Math.floor(Math.random() * peers.length)] as (typeof peers)[number];
    return a.ewma * (a.inflight + 1) <= b.ewma * (b.inflight + 1) ? a.instance : b.instance;
  };
}

/** Same string hash as girder's default, so only the ring structure differs. */
function fnv(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A ring as a sorted array of { point, instance } objects, binary-searched. */
function simpleRing(list: Inst[], replicas: number) {
  const ring: { point: number; instance: Inst }[] = [];
  for (const instance of list) {
    for (let k = 0; k < replicas; k++) ring.push({ point: fnv(`${instance.id}#${k}`), instance });
  }
  ring.sort((x, y) => x.point - y.point);
  return (key: string) => {
    const h = fnv(key);
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ring[mid] as (typeof ring)[number]).point < h) lo = mid + 1;
      else hi = mid;
    }
    return (ring[lo === ring.length ? 0 : lo] as (typeof ring)[number]).instance;
  };
}

// --- subjects ----------------------------------------------------------------------

const ten = instances(10);
const thousand = instances(1_000);
const swrr10 = smoothWeightedRoundRobin<Inst>();
swrr10.update(ten);
const swrr1000 = smoothWeightedRoundRobin<Inst>();
swrr1000.update(thousand);
const simpleSwrr10 = simpleSwrr(ten);
const simpleSwrr1000 = simpleSwrr(thousand);

const p2c = p2cEwma<Inst>();
p2c.update(thousand);
for (const [i, inst] of thousand.entries()) p2c.report(inst, { ok: true, latencyMs: 10 + (i % 7) });
const simpleP2c1000 = simpleP2c(thousand);

const keys = Array.from({ length: 1_024 }, (_, i) => `user-${i}`);
const ring = consistentHash<Inst>({ replicas: 160 });
ring.update(instances(100));
const bounded = consistentHash<Inst>({ replicas: 160, boundedLoad: 1.25 });
bounded.update(instances(100));
const simpleRing100 = simpleRing(instances(100), 160);

const loop = (pick: () => Inst | undefined) => (n: number) => {
  for (let i = 0; i < n; i++) if (pick() !== undefined) sink++;
};
const keyed = (pick: (key: string) => Inst | undefined) => (n: number) => {
  for (let i = 0; i < n; i++) if (pick(keys[i & 1023] as string) !== undefined) sink++;
};

/** Picks per second of the balancer pickers against the simplest correct versions. */
export const suite: BenchSuite = {
  name: 'balancer',
  cases: [
    {
      name: 'swrr pick, 10 instances',
      girder: loop(() => swrr10.pick()),
      peers: [{ name: 'simple swrr (objects)', run: loop(simpleSwrr10) }],
    },
    {
      name: 'swrr pick, 1,000 instances',
      girder: loop(() => swrr1000.pick()),
      peers: [{ name: 'simple swrr (objects)', run: loop(simpleSwrr1000) }],
    },
    {
      name: 'p2cEwma pick, 1,000 instances',
      girder: loop(() => p2c.pick()),
      peers: [{ name: 'simple p2c (objects)', run: loop(simpleP2c1000) }],
    },
    {
      name: 'consistentHash pick, 100 instances × 160 points',
      girder: keyed((key) => ring.pick({ key })),
      peers: [{ name: 'simple ring (sorted objects)', run: keyed(simpleRing100) }],
    },
    {
      name: 'consistentHash boundedLoad 1.25 pick (no calls in flight)',
      girder: keyed((key) => bounded.pick({ key })),
      peers: [{ name: 'simple ring (sorted objects)', run: keyed(simpleRing100) }],
    },
  ],
};

export const keepAlive = () => sink;
