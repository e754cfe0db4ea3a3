// The live SWRR split: how many of the gateway's calls each instance got, overall and over
// a recent window. Counted from the balancer itself: every channel's girder picker
// (girder/grpc `registerBalancers` -> `pickerCreated`) keeps a pick count per instance
// (`stats()`: id, address, picks). Picks are the attempts the balancer sent to an
// address, retries included. A picker forgets an instance when it leaves, so the
// counts are folded into per-address totals here on every sample.
import type { InstanceStats } from 'girder/balancer';
import type { Clock } from 'girder/core';
import type { BalancerPolicies } from 'girder/grpc';

/** One address's picks, as {@link SwrrSplit.sample} reports them. */
export interface AddressPicks {
  address: string;
  /** Picks since this view started. */
  total: number;
  /** Picks within the window. */
  recent: number;
}

export interface SwrrSplit {
  /** Fold the pickers' counts in, then the picks per address (overall and over the last `windowMs`). */
  sample(): AddressPicks[];
  readonly windowMs: number;
  /** Stop following new pickers. */
  stop(): void;
}

interface Counted {
  stats(): InstanceStats[];
}

/** Follow the pickers `balancers` creates from now on (create it before the first call). */
export function swrrSplit(
  balancers: BalancerPolicies,
  { clock, windowMs = 10_000 }: { clock: Clock; windowMs?: number },
): SwrrSplit {
  const pickers: Array<{ picker: Counted; seen: Map<string, number> }> = [];
  const totals = new Map<string, number>();
  // Samples of `totals`, oldest first; the oldest within the window is the baseline.
  const history: Array<{ at: number; totals: Map<string, number> }> = [];
  const off = balancers.events.on('pickerCreated', ({ picker }) => {
    const counted = picker as Partial<Counted>;
    if (typeof counted.stats === 'function') {
      pickers.push({ picker: counted as Counted, seen: new Map() });
    }
  });

  const fold = () => {
    for (const entry of pickers) {
      const stats = entry.picker.stats();
      const now = new Map<string, number>();
      for (const { id, address, picks } of stats) {
        const key = `${id}@${address}`;
        now.set(key, picks);
        const delta = picks - (entry.seen.get(key) ?? 0);
        if (delta > 0) totals.set(address, (totals.get(address) ?? 0) + delta);
      }
      entry.seen = now;
    }
  };

  return {
    windowMs,
    sample() {
      fold();
      const at = clock.now();
      history.push({ at, totals: new Map(totals) });
      // Keep one sample at or before the window's start as the baseline.
      while (history.length > 2 && history[1]!.at <= at - windowMs) history.shift();
      const base = history[0]!.at <= at - windowMs ? history[0]!.totals : new Map<string, number>();
      return [...totals].map(([address, total]) => ({
        address,
        total,
        recent: total - (base.get(address) ?? 0),
      }));
    },
    stop: off,
  };
}
