// A lock holder in its own process, for the etcd chaos tests (run with `node --import tsx`).
// argv: endpoints prefix key ttlMs writeAfterMs
// It acquires `key`, prints `held <fence>`, then, `writeAfterMs` later (real time, so a
// SIGSTOP in between delays it), checks the lock, tries a fenced write with its fence
// anyway — a stale holder that checked before its pause — and prints the outcome as JSON.
import { Etcd3 } from 'etcd3';
import { etcdLock } from '../../src/lock/index.js';
import { fencedWrite } from './etcd-fenced.js';

const [endpoints, prefix, key, ttlMs, writeAfterMs] = process.argv.slice(2);
const client = new Etcd3({ hosts: endpoints!.split(',') });
const locker = etcdLock(client, { prefix: prefix!, ttlMs: Number(ttlMs) });
const lock = await locker.acquire(key!);
process.stdout.write(`held ${lock.fence}\n`);

setTimeout(async () => {
  const held = lock.held;
  const aborted = lock.signal.aborted;
  const reason = (lock.signal.reason as { reason?: string } | undefined)?.reason;
  const write = await fencedWrite(
    client,
    `${prefix}/resource`,
    lock.fence,
    'from the stale holder',
  );
  process.stdout.write(`${JSON.stringify({ held, aborted, reason, write })}\n`);
  client.close();
  process.exit(0);
}, Number(writeAfterMs));
