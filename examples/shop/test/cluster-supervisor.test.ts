// The cluster supervisor with real child processes: prefixed output, state when an
// instance is killed, request/reply over IPC, and "the cluster goes down with its parent"
// even when the parent is SIGKILLed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterControl } from '../src/cluster/control.js';
import { createSupervisor, type Supervisor } from '../src/cluster/supervisor.js';
import { gone, isAlive } from './processes.js';

const fixture = (name: string) =>
  fileURLToPath(new URL(`./cluster-fixtures/${name}`, import.meta.url));
const TSX = ['--import', 'tsx'];

let supervisor: Supervisor | undefined;
afterEach(async () => {
  await supervisor?.close();
  supervisor = undefined;
});

function workers(lines: string[] = []) {
  supervisor = createSupervisor(
    { worker: { entry: fixture('child.ts'), env: { WEIGHT: '3' } } },
    { execArgv: TSX, output: (line) => lines.push(line) },
  );
  return supervisor;
}

describe('cluster supervisor', () => {
  it('starts numbered instances, tracks their pid and facts, and prefixes their output', async () => {
    const lines: string[] = [];
    const s = workers(lines);
    const [one, two] = await Promise.all([s.start('worker'), s.start('worker')]);
    expect([one!.id, two!.id].sort()).toEqual(['worker#1', 'worker#2']);
    for (const info of [one!, two!]) {
      expect(info.state).toBe('running');
      expect(info.facts).toEqual({ pid: info.pid, weight: 3 });
      expect(isAlive(info.pid!)).toBe(true);
    }
    expect(lines).toContain('[worker#1] hello from worker#1');
    expect(lines).toContain('[worker#2] hello from worker#2');
  });

  it('reports the state of a killed instance and keeps the others running', async () => {
    const s = workers();
    await s.start('worker');
    await s.start('worker');
    expect(s.kill('worker#2', 'SIGKILL')).toBe(true);
    const info = await s.exited('worker#2');
    expect(info).toMatchObject({ id: 'worker#2', state: 'exited', signal: 'SIGKILL' });
    expect(s.instance('worker#2')?.state).toBe('exited');
    expect(s.instance('worker#1')?.state).toBe('running');
    expect(s.kill('worker#2')).toBe(false);

    // A graceful stop (SIGTERM) exits 0; scaling up again gets the next number.
    s.kill('worker#1');
    expect(await s.exited('worker#1')).toMatchObject({ exitCode: 0, state: 'exited' });
    expect((await s.start('worker')).id).toBe('worker#3');
  });

  it('sends a request and gets the reply over IPC; the child updates its facts', async () => {
    const s = workers();
    await s.start('worker');
    expect(await s.send('worker#1', { type: 'echo', text: 'hi' })).toEqual({
      echoed: 'hi',
      instance: 'worker#1',
    });
    const updated = once(s.events, 'facts');
    expect(await s.send('worker#1', { type: 'set-weight', weight: 7 })).toEqual({ weight: 7 });
    await updated;
    expect(s.instance('worker#1')?.facts.weight).toBe(7);
    await expect(s.send('worker#1', { type: 'nope' })).rejects.toThrow('unknown request nope');
  });

  it('rejects a start whose child exits before it is ready, with its last output', async () => {
    supervisor = createSupervisor(
      { broken: { entry: fixture('child.ts') } },
      { execArgv: ['--eval', 'console.log("boom"); process.exit(3)'], output: () => {} },
    );
    await expect(supervisor.start('broken')).rejects.toThrow(
      /broken#1 exited \(code 3\)[\s\S]*boom/,
    );
  });

  it('close() stops every instance', async () => {
    const s = workers();
    const started = await Promise.all([s.start('worker'), s.start('worker')]);
    await s.close();
    for (const info of started) expect(isAlive(info.pid!)).toBe(false);
    expect(s.instances().map((i) => i.state)).toEqual(['exited', 'exited']);
  });

  it('children exit when their parent is SIGKILLed', async () => {
    const parent = spawn(process.execPath, [...TSX, fixture('parent.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: parent.stdout! });
      let pids: number[] = [];
      for await (const line of lines) {
        if (line.startsWith('{')) {
          pids = (JSON.parse(line) as { pids: number[] }).pids;
          break;
        }
      }
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isAlive(pid)).toBe(true);
      parent.kill('SIGKILL');
      for (const pid of pids) await gone(pid);
    } finally {
      parent.kill('SIGKILL');
    }
  }, 30_000);

  it('cluster control: scale up, set a weight (range-checked), kill', async () => {
    const control = clusterControl(workers(), () => ({ WEIGHT: '2' }));
    const added = await control.scaleUp('worker');
    expect(added).toMatchObject({ id: 'worker#1', state: 'running', facts: { weight: 2 } });
    expect(await control.setWeight('worker#1', 5)).toBe(5);
    await expect(control.setWeight('worker#1', 0)).rejects.toThrow('integer from 1 to 1000');
    await expect(control.setWeight('worker#1', 1.5)).rejects.toThrow('integer from 1 to 1000');
    expect(await control.kill('worker#1', 'SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    await expect(control.kill('worker#1')).rejects.toThrow('worker#1 is not running');
    expect(control.instances().map((i) => [i.id, i.state])).toEqual([['worker#1', 'exited']]);
  });
});
