import { cpus, loadavg } from 'node:os';
import type { BenchSuite, Runner } from './harness.js';
import { ADMIN, type LoadShops, MODES, type Mode, startLoadShops } from './shop-load-servers.js';

/**
 * Placing orders through the shop's gateway (`POST /api/orders`, one unit of one of
 * PRODUCTS products, each buyer signed in with its own token) in the three ways the shop
 * runs: every service in one process with plain calls (`direct`), in one process over
 * in-process gRPC (`grpc`), and one process per service instance behind the gateway
 * (`cluster`); all on the built package (shop-load-servers.ts).
 *
 * - Under load: BUYERS concurrent buyers, each placing its next order as soon as the last
 *   one is answered, in alternating fixed-duration rounds per mode after a warm-up;
 *   prints orders/s, p50 and p99 (medians of the rounds), the ratios to `direct`, and
 *   the machine's load average (a shared machine's figures are only comparable within
 *   one run). Runs in the case's setup, as bench/shop/catalog.bench.ts does.
 * - The harness table: one order at a time, cluster ("girder") vs the two one-process
 *   modes.
 *
 * `npm run bench -- --filter shop-load` (1.5 minutes on a 2-core machine at load 10, most of it starting the shops; 2.5 at load 28).
 * SHOP_LOAD_MODES=direct,grpc limits the modes (the first one is the ratios' base).
 *
 * `--quick` (CI's smoke run) only proves the bench still runs: the two one-process modes
 * (the cluster's start-up, most of a full run's time, is what the cluster tests start
 * anyway), 4 buyers, one 1 s round after a 0.5 s warm-up. SHOP_LOAD_MODES still chooses.
 */
const quick = process.argv.includes('--quick');
const BUYERS = Number(process.env.SHOP_LOAD_BUYERS ?? (quick ? 4 : 16));
const PRODUCTS = 8;
const ROUNDS = quick ? 1 : 3;
const ROUND_S = quick ? 1 : 4;
const WARMUP_S = quick ? 0.5 : 2;
const QUICK_MODES: readonly Mode[] = ['direct', 'grpc'];

const modes: Mode[] = (
  process.env.SHOP_LOAD_MODES?.split(',') ?? [...(quick ? QUICK_MODES : MODES)]
).filter((m): m is Mode => (MODES as readonly string[]).includes(m));

interface Buyer {
  token: string;
  productId: number;
}

/** What one mode serves: where, and who buys what there. */
interface Target {
  mode: Mode;
  url: string;
  buyers: Buyer[];
}

let running: LoadShops | undefined;
const targets = new Map<Mode, Target>();
let sequence = 0;

async function post(url: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

/**
 * `post` for the preparation, which is not measured: a 429 or 503 (a cluster just
 * started can refuse the first burst) is tried again a second later.
 */
async function prepared(url: string, body: unknown, token?: string) {
  for (let attempt = 1; ; attempt++) {
    const res = await post(url, body, token);
    if ((res.status !== 429 && res.status !== 503) || attempt === 10) return res;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Signs the admin in, makes the products (stock for any run) and signs the buyers up. */
async function prepare(mode: Mode, url: string): Promise<Target> {
  const login = await prepared(`${url}/api/users/login`, ADMIN);
  if (login.status !== 200) throw new Error(`${mode}: admin login ${login.status} ${login.text}`);
  const products: number[] = [];
  for (let i = 0; i < PRODUCTS; i++) {
    const res = await prepared(
      `${url}/api/admin/products`,
      {
        name: `Load product ${i + 1}`,
        description: 'bench stock',
        priceCents: 500,
        category: 'books',
        stock: 1_000_000,
      },
      login.body.accessToken,
    );
    if (res.status !== 201) throw new Error(`${mode}: product ${res.status} ${res.text}`);
    products.push(res.body.id);
  }
  const buyers = await Promise.all(
    Array.from({ length: BUYERS }, async (_, i): Promise<Buyer> => {
      const email = `buyer-${i}-${Date.now().toString(36)}@load.local`;
      const password = 'load-pass-1!';
      const signup = await prepared(`${url}/api/users/signup`, {
        email,
        password,
        confirmPassword: password,
      });
      if (signup.status !== 201) throw new Error(`${mode}: signup ${signup.status} ${signup.text}`);
      const res = await prepared(`${url}/api/users/login`, { email, password });
      if (res.status !== 200) throw new Error(`${mode}: login ${res.status} ${res.text}`);
      return { token: res.body.accessToken, productId: products[i % PRODUCTS]! };
    }),
  );
  return { mode, url, buyers };
}

/** Places one order for `buyer`; throws unless it was created. */
async function placeOrder(target: Target, buyer: Buyer): Promise<void> {
  const res = await post(
    `${target.url}/api/orders`,
    {
      items: [{ productId: buyer.productId, quantity: 1 }],
      requestId: `load-${process.pid}-${++sequence}`,
    },
    buyer.token,
  );
  if (res.status !== 201) throw new Error(`${target.mode}: order ${res.status} ${res.text}`);
}

interface Round {
  ordersPerSec: number;
  p50: number;
  p99: number;
  failed: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;

/** Every buyer places orders back to back for `seconds`. */
async function round(target: Target, seconds: number): Promise<Round> {
  const latencies: number[] = [];
  let failed = 0;
  let firstError: unknown;
  const start = performance.now();
  const end = start + seconds * 1_000;
  await Promise.all(
    target.buyers.map(async (buyer) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await placeOrder(target, buyer);
          latencies.push(performance.now() - t0);
        } catch (err) {
          failed++;
          firstError ??= err;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1_000;
  if (failed > 0)
    process.stderr.write(`  ${target.mode}: ${failed} failed, first: ${firstError}\n`);
  latencies.sort((a, b) => a - b);
  return {
    ordersPerSec: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failed,
  };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function underLoad() {
  const seen = new Map<Mode, Round[]>(modes.map((m) => [m, []]));
  for (const mode of modes) await round(targets.get(mode)!, WARMUP_S);
  const loadBefore = load();
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of modes) seen.get(mode)!.push(await round(targets.get(mode)!, ROUND_S));
  }
  const summary = modes.map((mode) => {
    const rounds = seen.get(mode)!;
    return {
      mode,
      ordersPerSec: median(rounds.map((x) => x.ordersPerSec)),
      p50: median(rounds.map((x) => x.p50)),
      p99: median(rounds.map((x) => x.p99)),
      failed: rounds.reduce((n, x) => n + x.failed, 0),
    };
  });
  const base = summary[0]!;
  const label: Record<Mode, string> = {
    direct: 'one process, direct calls',
    grpc: 'one process, gRPC on loopback',
    cluster: 'cluster (process per instance)',
  };
  process.stderr.write(
    [
      `  POST /api/orders, ${BUYERS} buyers, ${ROUNDS} x ${ROUND_S} s per mode (medians); load average ${loadBefore} -> ${load()} (${cpus().length} CPUs):`,
      `    ${'mode'.padEnd(32)} ${'orders/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}  vs ${base.mode}  failed`,
      ...summary.map(
        (s) =>
          `    ${label[s.mode].padEnd(32)} ${s.ordersPerSec.toFixed(0).padStart(8)} ${s.p50
            .toFixed(1)
            .padStart(7)} ${s.p99.toFixed(1).padStart(7)}  ${(s.ordersPerSec / base.ordersPerSec)
            .toFixed(2)
            .padStart(5)}x  ${s.failed}`,
      ),
      '',
    ].join('\n'),
  );
}

const sequential =
  (mode: Mode): Runner =>
  async (iterations) => {
    const target = targets.get(mode)!;
    for (let i = 0; i < iterations; i++) {
      await placeOrder(target, target.buyers[i % target.buyers.length]!);
    }
  };

const [first, ...rest] = modes.length > 0 ? [...modes].reverse() : ['cluster' as Mode];

export const suite: BenchSuite = {
  name: 'shop-load',
  cases: [
    {
      name: `place an order through the gateway, sequential: ${first} vs ${rest.join(', ')}`,
      setup: async () => {
        running = await startLoadShops(modes);
        try {
          for (const [mode, shop] of running.shops) {
            targets.set(mode, await prepare(mode, shop.url));
          }
          await underLoad();
        } catch (err) {
          // The harness calls no cleanup when setup throws: stop the shops here.
          await running.close();
          throw err;
        }
        return async () => {
          await running?.close();
        };
      },
      girder: sequential(first!),
      peers: rest.map((mode) => ({ name: mode, run: sequential(mode) })),
    },
  ],
};
