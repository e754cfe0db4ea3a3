// Real grpc-js servers and clients on loopback for the grpc tests: one unary method,
// `Who`, answering with the server's id (or failing with a chosen status).
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

export const whoDefinition = {
  who: {
    path: '/girder.test.Echo/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;

export const WhoClient = grpc.makeGenericClientConstructor(whoDefinition, 'Echo');

export interface TestServer {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  /** Calls served. */
  served: number;
  /** When set, every call fails with this code. */
  failWith: grpc.status | undefined;
  /** Metadata of the last call. */
  lastMetadata: grpc.Metadata | undefined;
  stop(): Promise<void>;
  kill(): void;
}

export async function startServer(id: string): Promise<TestServer> {
  const server = new grpc.Server();
  const handle: TestServer = {
    id,
    address: '',
    port: 0,
    served: 0,
    failWith: undefined,
    lastMetadata: undefined,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    kill: () => server.forceShutdown(),
  };
  server.addService(whoDefinition, {
    who: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      handle.served++;
      handle.lastMetadata = call.metadata;
      if (handle.failWith !== undefined) {
        callback({ code: handle.failWith, details: `${id} fails on purpose` });
        return;
      }
      callback(null, Buffer.from(id));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  Object.assign(handle, { port, address: `127.0.0.1:${port}` });
  return handle;
}

type WhoMethod = (
  request: Buffer,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, reply: Buffer | undefined) => void,
) => void;

export type Client = InstanceType<typeof WhoClient>;

export function makeClient(target: string, options: grpc.ChannelOptions): Client {
  return new WhoClient(target, grpc.credentials.createInsecure(), options);
}

export interface CallOutcome {
  id?: string;
  error?: grpc.ServiceError;
}

export function callWho(
  client: Client,
  opts: { metadata?: grpc.Metadata; deadlineMs?: number; waitForReady?: boolean } = {},
): Promise<CallOutcome> {
  const metadata = opts.metadata ?? new grpc.Metadata();
  const options: grpc.CallOptions = { deadline: Date.now() + (opts.deadlineMs ?? 5_000) };
  if (opts.waitForReady) metadata.setOptions({ ...metadata.getOptions(), waitForReady: true });
  return new Promise((resolve) => {
    (client as unknown as { who: WhoMethod }).who(
      Buffer.alloc(0),
      metadata,
      options,
      (error: grpc.ServiceError | null, reply: Buffer | undefined) => {
        if (error) resolve({ error });
        else resolve({ id: reply?.toString() });
      },
    );
  });
}

/** Calls `n` times in sequence and counts answers per server id (and failures). */
export async function countCalls(
  client: Client,
  n: number,
  opts: Parameters<typeof callWho>[1] = {},
): Promise<{ counts: Map<string, number>; failures: grpc.ServiceError[] }> {
  const counts = new Map<string, number>();
  const failures: grpc.ServiceError[] = [];
  for (let i = 0; i < n; i++) {
    const { id, error } = await callWho(client, opts);
    if (error) failures.push(error);
    else if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return { counts, failures };
}

/** Calls until every id in `ids` has answered (the channel connected to all of them). */
export async function untilAllAnswer(
  client: Client,
  ids: string[],
  maxCalls = 2_000,
): Promise<void> {
  const seen = new Set<string>();
  for (let i = 0; i < maxCalls && seen.size < ids.length; i++) {
    const { id } = await callWho(client, { waitForReady: true });
    if (id !== undefined && ids.includes(id)) seen.add(id);
  }
  if (seen.size < ids.length) throw new Error(`only ${[...seen].join(',')} answered`);
}

let schemes = 0;
/** A scheme no other test uses (grpc-js's resolver table is process-wide). */
export function uniqueScheme(): string {
  schemes++;
  return `girdertest${process.pid}x${schemes}`;
}
