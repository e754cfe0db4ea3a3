// A minimal fenced resource on etcd for the chaos tests: one key holding the highest
// fence written so far (zero-padded, so etcd's byte-wise value compare orders it), and
// the data next to it. A write carrying a lower fence is refused, atomically.
import type { Etcd3 } from 'etcd3';

const pad = (fence: number) => String(fence).padStart(20, '0');

/** Write `value` to `resource` if no higher fence has written it: 'ok' or 'refused'. */
export async function fencedWrite(
  client: Etcd3,
  resource: string,
  fence: number,
  value: string,
): Promise<'ok' | 'refused'> {
  const fenceKey = Buffer.from(`${resource}/fence`);
  const reply = await client.kv.txn({
    // A missing key compares false, so the first write passes.
    compare: [
      { key: fenceKey, target: 'Value', result: 'Greater', value: Buffer.from(pad(fence)) },
    ],
    success: [],
    failure: [
      { request_put: { key: fenceKey, value: Buffer.from(pad(fence)) } },
      { request_put: { key: Buffer.from(`${resource}/data`), value: Buffer.from(value) } },
    ],
  });
  return reply.succeeded ? 'refused' : 'ok';
}
