/**
 * A tiny side-by-side benchmark harness. Each case runs girder and its peers in the
 * same process, alternating rounds so drift (GC, CPU frequency, a noisy neighbour)
 * hits every subject alike, and reports the median throughput of the rounds.
 */

/** Runs `iterations` operations; may be async (e.g. a Redis round trip per op). */
export type Runner = (iterations: number) => unknown;

export interface Subject {
  name: string;
  run: Runner;
}

export interface BenchCase {
  /** What is measured, e.g. `memory fixedWindow, 1,000 keys`. */
  name: string;
  girder: Runner;
  /** Peers to compare with; ratios are girder / peer. */
  peers: Subject[];
  /**
   * Rounds per subject for this case when more than the run's setting (a noisy case,
   * e.g. one bound by round-trip latency, gets more rounds to take the median of).
   */
  minRounds?: number;
  /** Called once before the case runs; return a cleanup function if needed. */
  setup?: () => Promise<(() => Promise<void> | void) | undefined> | undefined;
}

export interface BenchSuite {
  name: string;
  cases: BenchCase[];
}

export interface BenchSettings {
  /** Target wall time of one round, ms. */
  roundMs: number;
  /** Rounds per subject. */
  rounds: number;
}

export interface SubjectResult {
  name: string;
  opsPerSec: number;
  /** Relative spread of the rounds: (max - min) / median. */
  spread: number;
  /**
   * Median CPU time of this process per operation, µs (user + system): far less
   * sensitive to a loaded machine than ops/s (it leaves out waiting, not the work).
   */
  cpuUsPerOp: number;
}

export interface CaseResult {
  suite: string;
  case: string;
  girder: SubjectResult;
  peers: Array<SubjectResult & { ratio: number }>;
}

async function timeBatch(run: Runner, iterations: number): Promise<number> {
  const start = process.hrtime.bigint();
  await run(iterations);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Wall ms and CPU µs (user + system) of one batch. */
async function measureBatch(run: Runner, iterations: number): Promise<[number, number]> {
  const cpu = process.cpuUsage();
  const ms = await timeBatch(run, iterations);
  const used = process.cpuUsage(cpu);
  return [ms, used.user + used.system];
}

/** Find an iteration count whose batch takes about `roundMs`. */
async function calibrate(run: Runner, roundMs: number): Promise<number> {
  let iterations = 1;
  for (;;) {
    const ms = await timeBatch(run, iterations);
    if (ms >= roundMs / 4 || iterations >= 1e9) {
      return Math.max(1, Math.round((iterations * roundMs) / Math.max(ms, 0.001)));
    }
    iterations *= ms < 1 ? 10 : 2;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function runCase(
  suite: string,
  bench: BenchCase,
  settings: BenchSettings,
): Promise<CaseResult> {
  const cleanup = await bench.setup?.();
  try {
    const subjects: Subject[] = [{ name: 'girder', run: bench.girder }, ...bench.peers];
    const iterations = new Map<Subject, number>();
    for (const s of subjects) iterations.set(s, await calibrate(s.run, settings.roundMs));
    const samples = new Map<Subject, number[]>(subjects.map((s) => [s, []]));
    const cpuSamples = new Map<Subject, number[]>(subjects.map((s) => [s, []]));
    const rounds = Math.max(settings.rounds, settings.rounds >= 7 ? (bench.minRounds ?? 0) : 0);
    for (let round = 0; round < rounds; round++) {
      for (const s of subjects) {
        const n = iterations.get(s)!;
        const [ms, cpuUs] = await measureBatch(s.run, n);
        samples.get(s)!.push((n * 1000) / ms);
        cpuSamples.get(s)!.push(cpuUs / n);
      }
    }
    const summarise = (s: Subject): SubjectResult => {
      const values = samples.get(s)!;
      const mid = median(values);
      return {
        name: s.name,
        opsPerSec: mid,
        spread: (Math.max(...values) - Math.min(...values)) / mid,
        cpuUsPerOp: median(cpuSamples.get(s)!),
      };
    };
    const girder = summarise(subjects[0]!);
    return {
      suite,
      case: bench.name,
      girder,
      peers: subjects.slice(1).map((s) => {
        const r = summarise(s);
        return { ...r, ratio: girder.opsPerSec / r.opsPerSec };
      }),
    };
  } finally {
    await cleanup?.();
  }
}

const formatOps = (ops: number) =>
  ops >= 1e6
    ? `${(ops / 1e6).toFixed(2)}M`
    : ops >= 1e3
      ? `${(ops / 1e3).toFixed(1)}k`
      : ops.toFixed(0);

/** Render results as a plain-text table, one row per peer. */
export function formatTable(results: CaseResult[]): string {
  const rows = [
    ['suite', 'case', 'girder ops/s', 'peer', 'peer ops/s', 'girder/peer', 'CPU µs/op g / p'],
  ];
  for (const r of results) {
    for (const p of r.peers) {
      rows.push([
        r.suite,
        r.case,
        `${formatOps(r.girder.opsPerSec)} ±${(r.girder.spread * 50).toFixed(0)}%`,
        p.name,
        `${formatOps(p.opsPerSec)} ±${(p.spread * 50).toFixed(0)}%`,
        `${p.ratio.toFixed(2)}x`,
        `${r.girder.cpuUsPerOp.toFixed(1)} / ${p.cpuUsPerOp.toFixed(1)}`,
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
  ].join('\n');
}
