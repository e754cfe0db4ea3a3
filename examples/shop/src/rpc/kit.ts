// The two halves every adapter uses: `unary` turns an async function into a grpc-js
// handler (errors to statuses), `invoke` calls a unary method as a promise (statuses back
// to errors), with the caller's user token when the call carries a user.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Client,
  type handleUnaryCall,
  Metadata,
  type ServerUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { authClaimsOf } from 'girder/grpc';
import { ShopError } from '../errors.js';
import { errorOfStatus, statusOfError } from './errors.js';

/**
 * A grpc-js unary handler running `work`; a rejection becomes the call's status. The
 * call's own user token goes on with the calls `work` makes (payments asking orders for
 * the user's order), so a user's identity crosses every hop verified.
 */
export function unary<Req, Res>(
  work: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const authorization = call.metadata.get('authorization')[0];
    asCaller(
      {
        authorization: typeof authorization === 'string' ? authorization : undefined,
        client: clientOf(call),
      },
      () => Promise.resolve().then(() => work(call.request, call)),
    ).then(
      (response) => callback(null, response),
      (error: unknown) => callback(statusOfError(error) as ServiceError),
    );
  };
}

/** Call `method` of `client` (a proto-loader client) and resolve its response. */
export function invoke<Res>(
  client: Client,
  method: string,
  request: unknown,
  metadata: Metadata = callerMetadata(),
): Promise<Res> {
  type Unary = (
    request: unknown,
    metadata: Metadata,
    done: (error: ServiceError | null, response: Res) => void,
  ) => unknown;
  const fn = (client as unknown as Record<string, Unary | undefined>)[method];
  if (typeof fn !== 'function') return Promise.reject(new Error(`no rpc method ${method}`));
  return new Promise<Res>((resolve, reject) => {
    fn.call(client, request, metadata, (error, response) => {
      if (error) reject(errorOfStatus(error));
      else resolve(response);
    });
  });
}

/**
 * Who a gateway request acts for: its `authorization` header (the user, when signed in)
 * and the end client's address (every request, signed in or not).
 */
interface Caller {
  authorization: string | undefined;
  client: string | undefined;
}
const caller = new AsyncLocalStorage<Caller>();

/**
 * The metadata key carrying the end client a call is made for (the HTTP request's IP, as
 * the gateway sees it): the service nodes' rate limit keys anonymous calls on it, so one
 * client's calls never use up another's quota. Only trusted for that (the nodes serve the
 * shop's own processes); identity comes from the verified token alone.
 */
export const CLIENT_METADATA = 'x-shop-client';

/**
 * Run `work` with the caller's token forwarded on every call made inside it that carries
 * a user, and its client address on every call.
 */
export function asCaller<T>(who: Caller, work: () => T): T {
  return caller.run(who, work);
}

/** The end client a served call was made for (its CLIENT_METADATA), if any. */
export function clientOf(call: { readonly metadata: Metadata }): string | undefined {
  const value = call.metadata.get(CLIENT_METADATA)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Metadata for any call: the end client it is made for, when there is one. */
export function callerMetadata(): Metadata {
  const metadata = new Metadata();
  const client = caller.getStore()?.client;
  if (client !== undefined) metadata.set(CLIENT_METADATA, client);
  return metadata;
}

/** Metadata for a call that carries a user: the gateway request's own bearer token too. */
export function userMetadata(): Metadata {
  const metadata = callerMetadata();
  const authorization = caller.getStore()?.authorization;
  if (authorization !== undefined) metadata.set('authorization', authorization);
  return metadata;
}

/**
 * Refuse a call that acts for `userId` unless its verified token (authInterceptor) is
 * that user's: a service never trusts a user id the network handed it.
 */
export function requireUser(call: { readonly metadata: Metadata }, userId: string): void {
  const claims = authClaimsOf(call);
  if (claims?.sub !== userId) {
    throw new ShopError(403, 'FORBIDDEN', 'the call is not allowed for this user');
  }
}

/** Milliseconds since the epoch, 0 for null. */
export const msOf = (date: Date | null): number => (date ? date.getTime() : 0);
/** The reverse of {@link msOf}. */
export const dateOf = (ms: number): Date | null => (ms ? new Date(ms) : null);
