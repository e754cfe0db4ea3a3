// The end-to-end flow (e2e-flow.ts) against the cluster: `npm run shop -- --cluster` as
// the launcher starts it (etcd, redis-server and PostgreSQL; one process per service
// instance, inventory and orders twice), the gateway in this process reaching the
// services through etcd.
import { clusterShop } from './cluster-helpers.js';
import { FLOW_ENV, shopFlow } from './e2e-flow.js';

shopFlow('cluster', () => clusterShop(FLOW_ENV), 180_000);
