// Child entry of `npm run shop -- --cluster`: one service instance. Its role comes from
// SHOP_ROLE and its infrastructure from the usual variables (DATABASE_URL, REDIS_URL,
// ETCD_ENDPOINTS), all set by the launcher. It stops when the launcher goes away.
import { ConfigError, loadConfig } from '../config.js';
import { superviseChild } from './child.js';
import type { InstanceRequest } from './roles.js';
import { type RoleNode, startRoleNode } from './service-node.js';

const role = process.env.SHOP_ROLE;
if (!role) {
  console.error('SHOP_ROLE is not set: this process is started by `npm run shop -- --cluster`');
  process.exit(1);
}

let node: RoleNode | undefined;
const child = superviseChild({
  async onRequest(body) {
    const request = body as InstanceRequest;
    if (node === undefined) throw new Error('not started yet');
    if (request.type === 'set-weight') {
      await node.setWeight(request.weight);
      child.facts({ weight: node.weight });
      return { weight: node.weight };
    }
    if (request.type === 'describe') return { address: node.address, weight: node.weight };
    throw new Error(`unknown request ${(request as { type: string }).type}`);
  },
  stop: () => node?.close(),
});

try {
  node = await startRoleNode(role, loadConfig(process.env));
  child.ready({ address: node.address, weight: node.weight, pid: process.pid });
} catch (err) {
  const message = err instanceof ConfigError ? err.message : ((err as Error).message ?? err);
  console.error(`${role} cannot start: ${message}`);
  process.exit(1);
}
