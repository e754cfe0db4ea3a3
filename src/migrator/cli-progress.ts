// Progress output of the CLI: a redrawn bar with an ETA on a terminal, one plain line
// every few seconds otherwise (CI logs, pipes).
import type { ValidationProgress } from './validator-types.js';

/** @internal Where progress goes: stderr in the CLI. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

const duration = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${s}s`;
};

/** @internal Formats one progress report as a bar (`width` cells) or a plain line. */
export function formatProgress(p: ValidationProgress, bar: boolean, width = 30): string {
  const total = p.estimatedRows;
  const ratio = total !== undefined && total > 0 ? Math.min(1, p.rowsDone / total) : undefined;
  const rate = `${Math.round(p.rowsPerSecond)} rows/s`;
  const counts = `${p.rowsDone}${total !== undefined ? `/${total}` : ''} rows`;
  const tail = `${counts}, ${rate}, diffs ${p.differences}, ETA ${duration(p.etaMs)}`;
  if (!bar) return `progress ${ratio === undefined ? '' : `${Math.round(ratio * 100)}% `}${tail}\n`;
  const filled = ratio === undefined ? 0 : Math.round(ratio * width);
  const pct = ratio === undefined ? '  ?%' : `${String(Math.round(ratio * 100)).padStart(3)}%`;
  return `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct} ${tail}\u001b[K`;
}

/** @internal A progress reporter: redraws on a TTY, prints at most every `everyMs` otherwise. */
export function progressReporter(sink: ProgressSink, now: () => number, everyMs = 2_000) {
  const tty = sink.isTTY === true;
  let lastAt = Number.NEGATIVE_INFINITY;
  return {
    update(p: ValidationProgress) {
      if (!tty && now() - lastAt < everyMs) return;
      lastAt = now();
      sink.write(formatProgress(p, tty));
    },
    done() {
      if (tty) sink.write('\n');
    },
  };
}
