// girder's internal etcd helpers, shared by the lock and the registry (not re-exported
// by core/index.ts: etcd3 is an optional peer and these are not public API).
export { checkEtcdClient, isEtcdClient } from './client.js';
export {
  type GrantedLease,
  grantLease,
  isLeaseGone,
  leaseSeconds,
  renewLease,
  revokeLease,
  revokeQuietly,
} from './lease.js';
