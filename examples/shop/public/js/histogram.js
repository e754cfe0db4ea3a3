// Histogram arithmetic for the ops page: the buckets that filled between two polls, and
// a quantile interpolated inside its bucket (as PromQL's histogram_quantile does).

/** Quantile `q` (0..1) of a histogram given as `[[bound|null, count]...]` (not cumulative). */
export function quantile(buckets, q) {
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  let lower = 0;
  for (const [bound, count] of buckets) {
    if (seen + count >= rank && count > 0) {
      if (bound === null) return lower; // beyond the last finite bucket
      return lower + ((bound - lower) * (rank - seen)) / count;
    }
    seen += count;
    if (bound !== null) lower = bound;
  }
  return lower;
}

/** Per-bucket counts between two cumulative histograms. */
export function bucketDelta(now, before) {
  const prev = new Map((before?.buckets ?? []).map(([b, c]) => [b, c]));
  let prevCum = 0;
  let cum = 0;
  return now.buckets.map(([bound, c]) => {
    const d = c - (prev.get(bound) ?? 0) - (cum - prevCum);
    cum = c;
    prevCum = prev.get(bound) ?? 0;
    return [bound, Math.max(0, d)];
  });
}
