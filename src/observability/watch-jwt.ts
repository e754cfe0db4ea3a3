// Metrics of a token service (sessions issued, tokens verified and refreshed, refusals,
// reuse, revocations) and of an authorizer (decisions, rule changes, sync errors).

import type { EventSource } from '../core/index.js';
import type { AuthorizerEvents, TokenEvents } from '../jwt/index.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { eventedBag, isFn } from './shape.js';

/** @internal The girder/jwt kinds of block. */
export type JwtBlockKind = 'tokens' | 'authorizer';

/** @internal Which girder/jwt block `block` is, if any. */
export function jwtKindOf(block: unknown): JwtBlockKind | undefined {
  const b = eventedBag(block);
  if (b === undefined) return undefined;
  if (isFn(b.verifyAccess) && isFn(b.issue)) return 'tokens';
  if (isFn(b.authorize) || (isFn(b.rolesOf) && isFn(b.grant))) return 'authorizer';
  return undefined;
}

/** @internal Map a token service's events to `<prefix>jwt_*`. */
export function watchTokens(scope: Scope, events: EventSource<TokenEvents>): () => void {
  const kinds = scope.counter(
    'jwt_events_total',
    'Token service events, by kind (issued, verified, refreshed, rejected, reuse_detected, logged_out, logged_out_all, banned, unbanned, store_error).',
    ['kind'],
  );
  const k = (kind: string) => kinds.series({ kind });
  const issued = k('issued');
  const verified = k('verified');
  const refreshed = k('refreshed');
  const rejected = k('rejected');
  const reuse = k('reuse_detected');
  const loggedOut = k('logged_out');
  const loggedOutAll = k('logged_out_all');
  const banned = k('banned');
  const unbanned = k('unbanned');
  const storeError = k('store_error');
  const rejections = cellsBy(
    scope.counter('jwt_rejections_total', 'Tokens refused, by operation and error code.', [
      'operation',
      'code',
    ]),
  );
  const revoked = cellsBy(
    scope.counter(
      'jwt_sessions_revoked_total',
      'Sessions revoked, by reason (logout, logout_all, ban, reuse).',
      ['reason'],
    ),
  );
  const byMode = cellsBy(
    scope.counter(
      'jwt_store_errors_total',
      'Session store failures, by what the service answered (deny, allow).',
      ['mode'],
    ),
  );
  const revoke = (reason: string, n: number) => {
    revoked(reason, () => ({ reason })).value += n;
  };
  return subscribe(events, {
    issued: () => {
      issued.value++;
    },
    verified: () => {
      verified.value++;
    },
    refreshed: () => {
      refreshed.value++;
    },
    rejected: (e: TokenEvents['rejected']) => {
      rejected.value++;
      rejections(`${e.operation}/${e.code}`, () => ({ operation: e.operation, code: e.code }))
        .value++;
    },
    reuseDetected: () => {
      reuse.value++;
      revoke('reuse', 1);
    },
    loggedOut: () => {
      loggedOut.value++;
      revoke('logout', 1);
    },
    loggedOutAll: (e: TokenEvents['loggedOutAll']) => {
      loggedOutAll.value++;
      revoke('logout_all', e.sessions);
    },
    banned: (e: TokenEvents['banned']) => {
      banned.value++;
      revoke('ban', e.sessions);
    },
    unbanned: () => {
      unbanned.value++;
    },
    storeError: (e: TokenEvents['storeError']) => {
      storeError.value++;
      const mode = e.failedOpen ? 'allow' : 'deny';
      byMode(mode, () => ({ mode })).value++;
    },
  });
}

/** @internal Map an authorizer's events to `<prefix>authz_*`. */
export function watchAuthorizer(scope: Scope, events: EventSource<AuthorizerEvents>): () => void {
  const decisions = scope.counter('authz_decisions_total', 'Authorization decisions, by outcome.', [
    'outcome',
  ]);
  const allowed = decisions.series({ outcome: 'allowed' });
  const denied = decisions.series({ outcome: 'denied' });
  const kinds = scope.counter(
    'authz_events_total',
    'Authorizer events, by kind (changed, invalid_rule, sync_error).',
    ['kind'],
  );
  const changed = kinds.series({ kind: 'changed' });
  const invalid = kinds.series({ kind: 'invalid_rule' });
  const syncError = kinds.series({ kind: 'sync_error' });
  return subscribe(events, {
    decision: (e: AuthorizerEvents['decision']) => {
      if (e.allowed) allowed.value++;
      else denied.value++;
    },
    changed: () => {
      changed.value++;
    },
    invalidRule: () => {
      invalid.value++;
    },
    syncError: () => {
      syncError.value++;
    },
  });
}
