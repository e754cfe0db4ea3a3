// Worker ids across real processes: 20 node processes against the shared etcd, each
// leasing an id; then one SIGKILLed, and its id leased again by a new process once the
// dead one's lease has run out (the victim alone leases with a short TTL, so that wait
// is short; the others keep a long one, safe through the start-up storm). The child
// entry is bundled once (harness `bundledEntry`) so that each process is a plain `node`
// start (20 tsx compilations at once on a loaded 2-core box is what made an earlier
// version of this test hang).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WorkerId, workerId } from '../../src/registry/index.js';
import { bundledEntry } from '../harness/bundle.js';
import { sharedEtcdEndpoints, uniquePrefix } from '../harness/index.js';

const ENTRY = fileURLToPath(new URL('./fixtures/worker-id-child.ts', import.meta.url));
const BITS = 5;
const LEASE_TTL_S = 10;
/** The process that is SIGKILLed, and its lease TTL: how long the test waits for its id. */
const VICTIM = 7;
const VICTIM_TTL_S = 2;
const LINE_TIMEOUT_MS = 90_000;

interface Child {
  process: ChildProcess;
  lines: string[];
  /** Resolves the next line not yet taken by `nextLine`. */
  nextLine(): Promise<string>;
  exited: Promise<number | null>;
}

let bundle = '';
const children: Child[] = [];
const etcd = new Etcd3({ hosts: sharedEtcdEndpoints() });

beforeAll(async () => {
  bundle = await bundledEntry(ENTRY);
});

afterAll(async () => {
  for (const child of children) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill('SIGKILL');
    }
  }
  await Promise.all(children.map((c) => c.exited));
  etcd.close();
});

function startChild(prefix: string, leaseTtlS = LEASE_TTL_S): Child {
  const child = spawn(
    process.execPath,
    [bundle, sharedEtcdEndpoints().join(','), prefix, String(BITS), String(leaseTtlS)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let taken = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    if (waiting.length > 0) {
      taken++;
      waiting.shift()!(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const handle: Child = {
    process: child,
    lines,
    exited,
    nextLine() {
      if (taken < lines.length) return Promise.resolve(lines[taken++]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`child ${child.pid} printed nothing`)),
          LINE_TIMEOUT_MS,
        );
        waiting.push((line) => {
          clearTimeout(timer);
          resolve(line);
        });
        void exited.then((code) => reject(new Error(`child ${child.pid} exited (${code})`)));
      });
    },
  };
  children.push(handle);
  return handle;
}

async function idOf(child: Child): Promise<number> {
  const line = await child.nextLine();
  const match = /^id (\d+)$/.exec(line);
  if (!match) throw new Error(`unexpected line from child: ${line}`);
  return Number(match[1]);
}

/** Resolve once `key` no longer exists (its lease expired), polling etcd. */
async function untilGone(key: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await etcd.get(key).string()) === null) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${key} still exists after ${timeoutMs} ms`);
}

/** The id a child holds now: its last `id` line (undefined while it re-acquires). */
function currentId(child: Child): number | undefined {
  const last = child.lines.at(-1);
  const match = last === undefined ? null : /^id (\d+)$/.exec(last);
  return match ? Number(match[1]) : undefined;
}

/**
 * Resolve once every child holds an id and the ids held (children's and `extra`) are
 * exactly etcd's keys: no two holders on one id. On a starved machine a child can lose
 * its lease during the start-up storm (it prints `lost`, then leases another id), so
 * this waits for the system to settle rather than trusting the first lines.
 */
async function untilSettled(p: string, group: Child[], extra: number[]): Promise<number[]> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const held = [...group.map(currentId), ...extra];
    const keys = (await etcd.getAll().prefix(`${p}/`).keys()).map((k) =>
      Number(k.slice(p.length + 1)),
    );
    const settled = held.every((id) => id !== undefined) && new Set(held).size === held.length;
    const sameAsEtcd =
      JSON.stringify([...held].sort((x, y) => x! - y!)) ===
      JSON.stringify(keys.sort((x, y) => x - y));
    if (settled && sameAsEtcd) return held as number[];
    last = `held ${JSON.stringify(held)}, etcd ${JSON.stringify(keys)}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`holders never settled: ${last}`);
}

describe('workerId across 20 processes on etcd', () => {
  it('20 processes hold 20 distinct ids; a SIGKILLed one frees its id after the TTL', async () => {
    const p = uniquePrefix('worker id processes', '/').replace(/\/$/, '');
    // Started in waves of five, so the early ones are not starved while renewing by the
    // start-up of the rest; all twenty run (and hold their ids) at once afterwards.
    const group: Child[] = [];
    for (let wave = 0; wave < 4; wave++) {
      const batch = Array.from({ length: 5 }, (_, i) =>
        startChild(p, wave * 5 + i === VICTIM ? VICTIM_TTL_S : LEASE_TTL_S),
      );
      group.push(...batch);
      await Promise.all(batch.map(idOf));
    }
    const ids = await untilSettled(p, group, []);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 2 ** BITS)).toBe(true);
    expect(new Set(ids).size).toBe(20);

    // Take every remaining id here, so the only id that can free up is the killed one's.
    const fillers: WorkerId[] = [];
    for (let i = ids.length; i < 2 ** BITS; i++) {
      fillers.push(await workerId(etcd, { prefix: p, bits: BITS, leaseTtlS: 60 }));
    }
    await expect(workerId(etcd, { prefix: p, bits: BITS })).rejects.toMatchObject({
      code: 'NO_FREE_WORKER_ID',
    });
    const before = await untilSettled(
      p,
      group,
      fillers.map((w) => w.id),
    );
    expect(new Set(before).size).toBe(2 ** BITS);

    const victim = group[VICTIM]!;
    const freed = currentId(victim)!;
    const linesBefore = group.map((c) => c.lines.length);
    victim.process.kill('SIGKILL');
    await victim.exited;
    // Nobody revoked the lease: the key outlives the process until its TTL runs out.
    await untilGone(`${p}/${freed}`, VICTIM_TTL_S * 1_000 + 20_000);
    const successor = startChild(p);
    const taken = await idOf(successor);
    const churned = group.some((c, i) => c !== victim && c.lines.length !== linesBefore[i]);
    // Every other id was held throughout; only a survivor's own lease loss (reported as
    // `lost`, which the starved box can cause) could have freed a second one.
    if (!churned) expect(taken).toBe(freed);
    const survivors = group.filter((c) => c !== victim);
    const after = await untilSettled(
      p,
      [...survivors, successor],
      fillers.map((w) => w.id),
    );
    expect(new Set(after).size).toBe(2 ** BITS);

    // Closing stdin makes each process give its id back before exiting.
    const alive = [...survivors, successor];
    for (const child of alive) child.process.stdin!.end();
    expect(await Promise.all(alive.map((c) => c.exited))).toEqual(alive.map(() => 0));
    await Promise.all(fillers.map((w) => w.close()));
    expect(await etcd.getAll().prefix(`${p}/`).keys()).toEqual([]);
  }, 240_000);
});
