// What the ops page may do to a running cluster, in its own words: list the instances,
// kill one, start one more of a role, change one's weight in the registry. A thin layer
// over the supervisor so the HTTP side never deals with processes or IPC.
import type { InstanceRequest } from './roles.js';
import type { InstanceInfo, Supervisor } from './supervisor.js';

export interface ClusterControl {
  /** Every instance started so far, exited ones included (with their exit code or signal). */
  instances(): InstanceInfo[];
  /** Sends `signal` (default SIGTERM: a graceful stop; SIGKILL: a crash) to an instance. */
  kill(id: string, signal?: 'SIGTERM' | 'SIGKILL'): Promise<InstanceInfo>;
  /** Starts one more instance of `role`; resolves once it is registered and serving. */
  scaleUp(role: string): Promise<InstanceInfo>;
  /** Changes an instance's weight in the registry; resolves with the weight it now has. */
  setWeight(id: string, weight: number): Promise<number>;
}

export function clusterControl(
  supervisor: Supervisor,
  envOf: (role: string) => Record<string, string>,
): ClusterControl {
  return {
    instances: () => supervisor.instances(),
    async kill(id, signal = 'SIGTERM') {
      if (!supervisor.kill(id, signal)) throw new Error(`${id} is not running`);
      return supervisor.exited(id);
    },
    scaleUp: (role) => supervisor.start(role, envOf(role)),
    async setWeight(id, weight) {
      if (!Number.isInteger(weight) || weight < 1 || weight > 1_000) {
        throw new Error('a weight is an integer from 1 to 1000');
      }
      const request: InstanceRequest = { type: 'set-weight', weight };
      const reply = (await supervisor.send(id, request)) as { weight: number };
      return reply.weight;
    },
  };
}
