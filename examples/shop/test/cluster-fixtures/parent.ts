// A launcher for the "parent dies" test: starts two supervised children, prints their
// pids as one JSON line, then waits to be killed.
import { fileURLToPath } from 'node:url';
import { createSupervisor } from '../../src/cluster/supervisor.js';

const supervisor = createSupervisor({
  worker: { entry: fileURLToPath(new URL('./child.ts', import.meta.url)) },
});
const started = await Promise.all([supervisor.start('worker'), supervisor.start('worker')]);
console.log(JSON.stringify({ pids: started.map((info) => info.pid) }));
setInterval(() => {}, 60_000);
