// What the ops page may do to a running cluster, in its own words: list the instances,
// kill one, start one more of a role, change one's weight in the registry. A thin layer
// over the supervisor so the HTTP side never deals with processes or IPC. The one-process
// shop (SHOP_TRANSPORT=grpc) has its own implementation over its gRPC nodes
// (observe/cluster-in-process.ts); the ops page cannot tell them apart.
import type { InstanceRequest } from './roles.js';
import type { InstanceInfo, Supervisor } from './supervisor.js';

export interface ClusterControl {
  /** `processes`: one child process per instance (`--cluster`); `in-process`: gRPC nodes in this process. */
  readonly mode: 'processes' | 'in-process';
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
    mode: 'processes',
    instances: () => supervisor.instances(),
    async kill(id, signal = 'SIGTERM') {
      known(supervisor, id);
      if (!supervisor.kill(id, signal)) throw new ClusterActionError(409, `${id} is not running`);
      return supervisor.exited(id);
    },
    scaleUp: (role) => supervisor.start(role, envOf(role)),
    async setWeight(id, weight) {
      checkWeight(weight);
      if (known(supervisor, id).state === 'exited') {
        throw new ClusterActionError(409, `${id} is not running`);
      }
      const request: InstanceRequest = { type: 'set-weight', weight };
      const reply = (await supervisor.send(id, request)) as { weight: number };
      return reply.weight;
    },
  };
}

/** Weights the ops page may set (the registry's own range is wider). */
export const WEIGHT_RANGE = { min: 1, max: 1_000 } as const;

/** A refused cluster action, with the HTTP status it answers with (400, 404, 409). */
export class ClusterActionError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'ClusterActionError';
  }
}

export function checkWeight(weight: number): void {
  if (!Number.isInteger(weight) || weight < WEIGHT_RANGE.min || weight > WEIGHT_RANGE.max) {
    throw new ClusterActionError(
      400,
      `a weight is an integer from ${WEIGHT_RANGE.min} to ${WEIGHT_RANGE.max}`,
    );
  }
}

function known(supervisor: Supervisor, id: string): InstanceInfo {
  const info = supervisor.instance(id);
  if (info === undefined) throw new ClusterActionError(404, `no instance ${id}`);
  return info;
}
