import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * The shop's catalog read, `GET /api/products` (embedded defaults, cache warm: the 12
 * seeded products), against a bare Fastify route answering the same JSON object, in one
 * run. Both servers live in one child process (./servers.ts), so the load generator has
 * an event loop of its own.
 *
 * - Under load: autocannon, 20 connections, alternating fixed-duration rounds between
 *   the two (3 x 5 s each; `--quick`: 1 x 1 s) after a 1 s warm-up each, printing
 *   req/s, p99 and the ratio. This
 *   runs in the case's setup: autocannon's per-run start and stop cost too much for the
 *   harness's calibrated batches.
 * - The harness table: the same request, one at a time on one keep-alive connection.
 */
const CONNECTIONS = 20;
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const ROUND_S = quick ? 1 : 5;

let child: ChildProcess | undefined;
let ports: { shop: number; bare: number };

async function startServers() {
  const script = fileURLToPath(new URL('./servers.ts', import.meta.url));
  child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const lines = createInterface({ input: child.stdout! });
  ports = await new Promise((resolve, reject) => {
    child!.once('exit', (code) => reject(new Error(`bench servers exited with ${code}`)));
    lines.once('line', (line) => resolve(JSON.parse(line)));
  });
}

const url = (side: 'shop' | 'bare') => `http://127.0.0.1:${ports[side]}/api/products`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;

/** Alternating autocannon rounds; prints one line per side and the ratio. */
async function underLoad() {
  const seen = {
    shop: { rps: [] as number[], p99: [] as number[] },
    bare: { rps: [] as number[], p99: [] as number[] },
  };
  // One unrecorded second each first: JIT warm-up, connection pools, the first ranking run.
  for (const side of ['shop', 'bare'] as const) {
    await autocannon({ url: url(side), connections: CONNECTIONS, duration: 1 });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of ['shop', 'bare'] as const) {
      const r = await autocannon({ url: url(side), connections: CONNECTIONS, duration: ROUND_S });
      if (r.non2xx > 0 || r.errors > 0) {
        throw new Error(`${side}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
      }
      seen[side].rps.push(r.requests.average);
      seen[side].p99.push(r.latency.p99);
    }
  }
  const shop = { rps: median(seen.shop.rps), p99: median(seen.shop.p99) };
  const bare = { rps: median(seen.bare.rps), p99: median(seen.bare.p99) };
  process.stderr.write(
    [
      `  GET /api/products, ${CONNECTIONS} connections, ${ROUNDS} x ${ROUND_S} s each (medians):`,
      `    shop          ${shop.rps.toFixed(0).padStart(7)} req/s   p99 ${shop.p99} ms`,
      `    bare Fastify  ${bare.rps.toFixed(0).padStart(7)} req/s   p99 ${bare.p99} ms`,
      `    shop / bare   ${(shop.rps / bare.rps).toFixed(2)}x\n`,
    ].join('\n'),
  );
}

const sequential =
  (side: 'shop' | 'bare'): Runner =>
  async (iterations) => {
    for (let i = 0; i < iterations; i++) {
      const res = await fetch(url(side));
      if (res.status !== 200) throw new Error(`${side}: status ${res.status}`);
      await res.arrayBuffer();
    }
  };

export const suite: BenchSuite = {
  name: 'shop',
  cases: [
    {
      name: 'GET /api/products (warm cache), sequential: shop vs bare Fastify',
      setup: async () => {
        await startServers();
        await underLoad();
        return async () => {
          child?.kill('SIGTERM');
          await new Promise((resolve) => child?.once('exit', resolve));
        };
      },
      girder: sequential('shop'),
      peers: [{ name: 'bare Fastify, same JSON', run: sequential('bare') }],
    },
  ],
};
