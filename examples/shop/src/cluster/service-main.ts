// Child entry of `npm run shop -- --cluster`: one service instance. Its role comes from
// SHOP_ROLE and its infrastructure from the usual variables (DATABASE_URL, REDIS_URL,
// ETCD_ENDPOINTS), all set by the launcher. It stops when the launcher goes away.
import { ConfigError, loadConfig, type ShopConfig } from '../config.js';
import { superviseChild } from './child.js';
import type { InstanceRequest } from './roles.js';
import { type RoleNode, startRoleNode } from './service-node.js';

let config: ShopConfig;
try {
  config = loadConfig(process.env);
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}
const { role } = config.cluster;
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
  node = await startRoleNode(role, config);
  child.ready({ address: node.address, weight: node.weight, pid: process.pid });
} catch (err) {
  console.error(`${role} cannot start: ${(err as Error).message ?? err}`);
  process.exit(1);
}
