import type { Instance } from '../../src/registry/types.js';

/** An instance with the given id and weight (address derived from the id). */
export function inst(id: string, weight = 1, metadata: Record<string, string> = {}): Instance {
  return { service: 'svc', id, address: `${id}.local:50051`, metadata, weight };
}

/** `n` instances named i0..i{n-1}, each of weight 1 unless `weights` says otherwise. */
export function many(n: number, weights?: readonly number[]): Instance[] {
  return Array.from({ length: n }, (_, i) => inst(`i${i}`, weights?.[i] ?? 1));
}

/** A small deterministic PRNG (mulberry32) returning [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Pearson's chi-square statistic of `observed` counts against `expected` proportions.
 */
export function chiSquare(observed: readonly number[], expected: readonly number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  const sum = expected.reduce((a, b) => a + b, 0);
  let chi = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = (n * (expected[i] as number)) / sum;
    chi += ((observed[i] as number) - e) ** 2 / e;
  }
  return chi;
}

/**
 * Critical value of chi-square at p = 0.001 for `df` degrees of freedom (Wilson-Hilferty
 * approximation, accurate to a few percent for df >= 2): a correct sampler exceeds it
 * once in a thousand seeds, and the seeds here are fixed.
 */
export function chiSquareCritical(df: number): number {
  const z = 3.09;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Counts picks by id over `n` calls of `pick`. */
export function countPicks(pick: () => Instance | undefined, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = pick()?.id ?? '(none)';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
