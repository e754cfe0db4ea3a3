// A launcher for the "launcher dies" infra test: starts redis-server only (the other two
// are "given"), prints its pid and data dir as one JSON line, then waits to be killed.
import { startInfra } from '../../src/cluster/infra.js';

const infra = await startInfra({
  env: {
    PATH: process.env.PATH,
    ETCD_ENDPOINTS: 'http://127.0.0.1:1',
    DATABASE_URL: 'postgres://x',
  },
  output: () => {},
});
const redis = infra.servers.find((s) => s.name === 'redis')!;
if (redis.origin.kind !== 'started') throw new Error('redis was not started');
console.log(JSON.stringify({ pid: redis.origin.pid, dataDir: redis.origin.dataDir }));
setInterval(() => {}, 60_000);
