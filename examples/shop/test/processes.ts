// Waiting on things outside the test's control (child processes, servers, registrations):
// polls with a deadline that catches a hang; never a timing assertion.

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls `read` every 50 ms until `ok` holds for its value, and resolves that value;
 * rejects naming `what` (and the last value) after `timeoutMs`.
 */
export async function eventuallyValue<T>(
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`still not true: ${what} (${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls until `check` holds; rejects naming `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  await eventuallyValue(check, (held) => held, what, timeoutMs);
}

/** Resolves once process `pid` has exited; rejects after `timeoutMs`. */
export const gone = (pid: number, timeoutMs = 15_000) =>
  eventually(() => !isAlive(pid), `process ${pid} has exited`, timeoutMs);
