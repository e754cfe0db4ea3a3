// A supervised child for the supervisor tests: prints a line, reports ready with a weight,
// answers `echo` and `set-weight` requests, and stays up until told (or left) to stop.
import { superviseChild } from '../../src/cluster/child.js';

let weight = Number(process.env.WEIGHT ?? 1);
const keepAlive = setInterval(() => {}, 60_000);
const child = superviseChild({
  onRequest(body) {
    const request = body as { type: string; weight?: number; text?: string };
    if (request.type === 'echo')
      return { echoed: request.text, instance: process.env.SHOP_INSTANCE };
    if (request.type === 'set-weight') {
      weight = request.weight!;
      child.facts({ weight });
      return { weight };
    }
    throw new Error(`unknown request ${request.type}`);
  },
  stop: () => clearInterval(keepAlive),
});
console.log(`hello from ${process.env.SHOP_INSTANCE}`);
child.ready({ pid: process.pid, weight });
