/** Something that can be killed synchronously, from an exit or signal handler. */
export interface Killable {
  killNow(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Kills every server this process started and removes its data dir when the process exits
 * or is interrupted; a handle counts until stop(), so a killed server waiting for restart()
 * still has its data dir removed. The watchdog covers a parent that dies any way at all
 * (even SIGKILL); this is the in-process half, which acts at once.
 * Handlers are installed only while there are handles.
 */
class Reaper {
  private readonly live = new Set<Killable>();

  add(target: Killable): void {
    if (this.live.has(target)) return;
    if (this.live.size === 0) this.install();
    this.live.add(target);
  }

  delete(target: Killable): void {
    if (!this.live.delete(target)) return;
    if (this.live.size === 0) this.uninstall();
  }

  private readonly onExit = (): void => {
    for (const target of this.live) target.killNow();
  };

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.onExit();
    this.live.clear();
    const othersHandleIt = process.listenerCount(signal) > 1;
    this.uninstall();
    // Our listener replaced the default "exit on signal"; restore it unless someone else decides.
    if (!othersHandleIt) process.kill(process.pid, signal);
  };

  private install(): void {
    process.on('exit', this.onExit);
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
  }

  private uninstall(): void {
    process.off('exit', this.onExit);
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
  }
}

export const killAllOnExit = new Reaper();
