/**
 * Turns the breaker suite's throughput into per-call overhead: for each case, the
 * nanoseconds each subject adds to the bare function (ns/call of the subject minus
 * ns/call of `bare fn`, measured in the same rounds), and girder's overhead as a
 * fraction of each peer's — the figure the breaker's performance target is stated in
 * (at most 1/5 of opossum's and 0.6x cockatiel's).
 *
 *   npm run build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/breaker/overhead.ts [--quick] [--json out.json]
 */
import { writeFile } from 'node:fs/promises';
import { runCase } from '../harness.js';
import { suite } from './breaker.bench.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonAt = args.indexOf('--json');
const settings = quick ? { roundMs: 20, rounds: 3 } : { roundMs: 200, rounds: 9 };

const rows: string[][] = [
  ['case', 'subject', 'ops/s', 'ns/call', 'overhead ns', 'girder overhead / peer overhead'],
];
const results: unknown[] = [];
for (const bench of suite.cases) {
  if (!bench.peers.some((p) => p.name === 'bare fn')) continue;
  process.stderr.write(`running: ${bench.name}\n`);
  const r = await runCase(suite.name, bench, settings);
  const ns = (ops: number) => 1e9 / ops;
  const bare = r.peers.find((p) => p.name === 'bare fn')!;
  const girderOverhead = ns(r.girder.opsPerSec) - ns(bare.opsPerSec);
  const subjects = [r.girder, ...r.peers];
  const entry: Record<string, unknown> = { case: bench.name, bareNs: ns(bare.opsPerSec) };
  for (const s of subjects) {
    const overhead = ns(s.opsPerSec) - ns(bare.opsPerSec);
    const isPeer = s !== r.girder && s !== bare;
    rows.push([
      bench.name,
      s.name,
      `${(s.opsPerSec / 1e6).toFixed(2)}M ±${(s.spread * 50).toFixed(0)}%`,
      ns(s.opsPerSec).toFixed(0),
      s === bare ? '-' : overhead.toFixed(0),
      isPeer ? `${(girderOverhead / overhead).toFixed(2)}` : '',
    ]);
    entry[s.name] = { opsPerSec: s.opsPerSec, nsPerCall: ns(s.opsPerSec), overheadNs: overhead };
  }
  results.push(entry);
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
console.log(
  [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join(
    '\n',
  ),
);
if (quick) console.log('\n(quick smoke run: figures are indicative only)');
if (jsonAt !== -1) await writeFile(args[jsonAt + 1]!, `${JSON.stringify(results, null, 2)}\n`);
