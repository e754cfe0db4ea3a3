import type { ChildProcess } from 'node:child_process';

/** One line of what watchdog.mjs reports about its server on fd 3. */
export interface WatchdogStatus {
  event: 'spawn' | 'exit' | 'error';
  pid?: number;
  code?: number | null;
  signal?: string | null;
  message?: string;
}

/** Calls `listener` for every status line the watchdog writes. */
export function onStatus(watchdog: ChildProcess, listener: (status: WatchdogStatus) => void): void {
  const channel = watchdog.stdio[3];
  if (!channel) throw new Error('watchdog status pipe missing');
  let pending = '';
  channel.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line) listener(JSON.parse(line) as WatchdogStatus);
  });
}

/** "exited with code 1", "was killed by SIGKILL" or "could not be started: ...". */
export function describeExit(status: WatchdogStatus): string {
  if (status.event === 'error') return `could not be started: ${status.message}`;
  if (status.signal) return `was killed by ${status.signal}`;
  return `exited with code ${status.code}`;
}
