import { addTo, removeFrom } from './multimap.js';
import type { MatchKind } from './patterns.js';

/**
 * One permission of a role: which `actions` it covers on which resources, and whether
 * it allows or denies them. Deny wins over allow, whichever role each comes from.
 * Serialisable (stores keep it as JSON), hence the regex as text plus `match: 'regex'`.
 *
 * @example
 * ```ts
 * import type { Permission } from 'girder/jwt';
 *
 * const readOrders: Permission = { actions: ['GET'], resource: '/orders/**' };
 * const noRefunds: Permission = { effect: 'deny', actions: ['POST'], resource: '^/orders/\\d+/refund$', match: 'regex' };
 * ```
 */
export interface Permission {
  /** `allow` (default) or `deny`. */
  effect?: 'allow' | 'deny';
  /** Actions covered, compared case-insensitively (`GET`, `read`...); `*` or absent means all. */
  actions?: string[];
  /** Resource pattern: exact, or a glob when it contains `*` / `?`, or a regex with `match: 'regex'`. */
  resource: string;
  /** How `resource` matches; default exact, or glob when it contains `*` / `?`. */
  match?: MatchKind;
  /** Regex flags (`i`, `u`). */
  flags?: string;
}

/**
 * Roles and grants: `roles` maps a role to its permissions, `grants` a subject to its
 * roles.
 *
 * @example
 * ```ts
 * import type { PolicyRules } from 'girder/jwt';
 *
 * const rules: PolicyRules = {
 *   roles: {
 *     buyer: [{ actions: ['GET', 'POST'], resource: '/orders/**' }],
 *     admin: [{ resource: '/**' }],
 *   },
 *   grants: { 'u-1': ['admin'] },
 * };
 * ```
 */
export interface PolicyRules {
  /** Role name -> permissions. */
  roles?: Record<string, Permission[]>;
  /** Subject -> role names. */
  grants?: Record<string, string[]>;
}

/** The dynamic rules a store holds, with the version they are at. */
export interface PolicySnapshot {
  /** Increases by one with every change. */
  readonly version: number;
  /** Role name -> permissions. */
  readonly roles: Record<string, Permission[]>;
  /** Subject -> role names. */
  readonly grants: Record<string, string[]>;
}

/** One change to the rules. */
export type PolicyChange =
  | {
      /** Define or replace a role. */
      op: 'setRole';
      /** The role. */
      role: string;
      /** Its permissions. */
      permissions: Permission[];
    }
  | {
      /** Remove a role. */
      op: 'deleteRole';
      /** The role. */
      role: string;
    }
  | {
      /** Give a subject a role. */
      op: 'grant';
      /** Who. */
      subject: string;
      /** The role. */
      role: string;
    }
  | {
      /** Take a role from a subject. */
      op: 'revoke';
      /** Who. */
      subject: string;
      /** The role. */
      role: string;
    };

/**
 * Called with every change any instance makes, tagged with the version it produced;
 * `change` is `null` when changes may have been missed (a reconnect) and the listener
 * should compare versions and reload.
 */
export type PolicyListener = (version: number, change: PolicyChange | null) => void;

/**
 * Where the dynamic authorization rules live, versioned, with change notification.
 * girder ships {@link memoryPolicyStore} and `redisPolicyStore`.
 *
 * @example
 * ```ts
 * import { authorizer, memoryPolicyStore } from 'girder/jwt';
 *
 * const authz = authorizer({ rules, store: memoryPolicyStore() });
 * ```
 */
export interface PolicyStore {
  /** The whole rule set and its version, read atomically. */
  load(): Promise<PolicySnapshot>;
  /** The current version only (cheap; for periodic resync). */
  version(): Promise<number>;
  /** Apply a change, bump the version and notify every subscriber; resolves the new version. */
  apply(change: PolicyChange): Promise<number>;
  /** Listen to changes; resolves once listening, with a function that stops. */
  subscribe(listener: PolicyListener): Promise<() => void>;
  /** Release connections and listeners the store opened. */
  close(): Promise<void>;
}

/**
 * Apply one change to a role map and a grant map.
 *
 * @internal
 */
export function applyChange(
  roles: Map<string, Permission[]>,
  grants: Map<string, Set<string>>,
  change: PolicyChange,
): void {
  switch (change.op) {
    case 'setRole':
      roles.set(change.role, change.permissions);
      break;
    case 'deleteRole':
      roles.delete(change.role);
      break;
    case 'grant':
      addTo(grants, change.subject, change.role);
      break;
    case 'revoke':
      removeFrom(grants, change.subject, change.role);
      break;
  }
}

/**
 * In-process policy store. Several authorizers on one instance of it see each other's
 * changes synchronously — the single-process stand-in for `redisPolicyStore`.
 *
 * @example
 * ```ts
 * import { authorizer, memoryPolicyStore } from 'girder/jwt';
 *
 * const store = memoryPolicyStore();
 * const a = authorizer({ store });
 * const b = authorizer({ store });
 * await a.grant('u-1', 'admin'); // b.rolesOf('u-1') includes 'admin' at once
 * ```
 */
export function memoryPolicyStore(): PolicyStore & AsyncDisposable {
  let version = 0;
  const roles = new Map<string, Permission[]>();
  const grants = new Map<string, Set<string>>();
  const listeners = new Set<PolicyListener>();

  return {
    async load() {
      return {
        version,
        roles: Object.fromEntries(
          [...roles].map(([role, perms]) => [role, structuredClone(perms)]),
        ),
        grants: Object.fromEntries([...grants].map(([subject, set]) => [subject, [...set]])),
      };
    },
    async version() {
      return version;
    },
    async apply(change) {
      applyChange(roles, grants, structuredClone(change));
      version += 1;
      const at = version;
      for (const listener of [...listeners]) listener(at, structuredClone(change));
      return at;
    },
    async subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      listeners.clear();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}
