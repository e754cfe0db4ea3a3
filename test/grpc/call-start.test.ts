// The events interceptors' `start` event: emitted only when listened to, before the call
// goes on; a listener's `runIn(scope)` runs the rest of the call inside its scope (the
// handler, on a server), scopes nest in subscription order, and `runIn` after the event
// is ignored. Real grpc-js server and client on loopback; an AsyncLocalStorage as scope.
import { AsyncLocalStorage } from 'node:async_hooks';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CallStart,
  type ClientCallEvent,
  eventsInterceptor,
  type ServerCallEvent,
  serverEventsInterceptor,
} from '../../src/grpc/index.js';
import { callWho, WhoClient, whoDefinition } from './fixtures/grpc.js';

const store = new AsyncLocalStorage<string[]>();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function serve(server: grpc.ServerInterceptor[], client: grpc.Interceptor[]) {
  const seen: { handler: (string[] | undefined)[]; metadata: (string | undefined)[] } = {
    handler: [],
    metadata: [],
  };
  const s = new grpc.Server({ interceptors: server });
  s.addService(whoDefinition, {
    who: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const tag = call.metadata.get('x-scope')[0];
      seen.metadata.push(typeof tag === 'string' ? tag : undefined);
      setImmediate(() => {
        seen.handler.push(store.getStore());
        callback(null, Buffer.from('ok'));
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const c = new WhoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    interceptors: client,
  });
  cleanups.push(
    () => c.close(),
    () => new Promise<void>((resolve) => s.tryShutdown(() => resolve())),
  );
  return { client: c, seen };
}

/** A client interceptor writing the scope it runs in as `x-scope` metadata. */
const tagScope: grpc.Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      const scope = store.getStore();
      if (scope) metadata.set('x-scope', scope.join('>'));
      next(metadata, listener);
    },
  });

describe('start events', () => {
  it('are not emitted without listeners, and calls end as before', async () => {
    const calls = eventsInterceptor();
    const served = serverEventsInterceptor();
    const ended: (ClientCallEvent | ServerCallEvent)[] = [];
    calls.events.on('call', (e) => ended.push(e));
    served.events.on('call', (e) => ended.push(e));
    const { client, seen } = await serve([served], [calls, tagScope]);
    expect((await callWho(client)).id).toBe('ok');
    expect(seen.metadata).toEqual([undefined]);
    expect(ended).toHaveLength(2);
    for (const e of ended) expect(e.started).toBeUndefined();
  });

  it('let listeners scope the rest of the call: nested in order, the handler included', async () => {
    const calls = eventsInterceptor();
    const served = serverEventsInterceptor();
    const starts: CallStart[] = [];
    const late: CallStart[] = [];
    const scoped =
      (name: string) =>
      <T>(fn: () => T): T =>
        store.run([...(store.getStore() ?? []), name], fn);
    calls.events.on('start', (e) => {
      starts.push(e);
      e.runIn(scoped('outer'));
    });
    calls.events.on('start', (e) => {
      e.runIn(scoped('inner'));
      late.push(e);
    });
    served.events.on('start', (e) => {
      starts.push(e);
      e.runIn(scoped('server'));
    });
    const ended: (ClientCallEvent | ServerCallEvent)[] = [];
    calls.events.on('call', (e) => ended.push(e));
    served.events.on('call', (e) => ended.push(e));
    const { client, seen } = await serve([served], [calls, tagScope]);
    expect((await callWho(client)).id).toBe('ok');
    expect(seen.metadata).toEqual(['outer>inner']);
    // The server's handler runs in the server listener's scope, not the client's.
    expect(seen.handler).toEqual([['server']]);
    expect(starts.map((s) => s.method)).toEqual(['/girder.test.Echo/Who', '/girder.test.Echo/Who']);
    expect(new Set(ended.map((e) => e.started))).toEqual(new Set(starts));
    // runIn after the event has no effect on the call already under way.
    late[0]!.runIn(scoped('too-late'));
    expect((await callWho(client)).id).toBe('ok');
    expect(seen.metadata[1]).toBe('outer>inner');
  });
});
