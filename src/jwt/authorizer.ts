import { z } from 'zod';
import {
  InvalidArgumentError,
  parseOptions,
  type TimerHandle,
  TypedEmitter,
} from '../core/index.js';
import type { Authorizer, AuthorizerEvents, AuthorizerOptions } from './authorizer-types.js';
import { AccessDeniedError, InvalidRuleError } from './errors.js';
import { clockOption } from './options.js';
import { compilePattern, type RegexLimits } from './patterns.js';
import {
  applyChange,
  memoryPolicyStore,
  type Permission,
  type PolicyChange,
  type PolicySnapshot,
  type PolicyStore,
} from './policy-store.js';

export type { Authorizer, AuthorizerEvents, AuthorizerOptions } from './authorizer-types.js';

interface CompiledPermission {
  /** Lower-cased actions, or null for any. */
  readonly actions: ReadonlySet<string> | null;
  readonly matches: (resource: string) => boolean;
}

interface CompiledRole {
  readonly allow: readonly CompiledPermission[];
  readonly deny: readonly CompiledPermission[];
}

const DENY_EVERYTHING: CompiledPermission = { actions: null, matches: () => true };

const NAME = /^[^\n]{1,256}$/;
const checkName = (argument: string, value: unknown): string => {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new InvalidArgumentError(argument, 'must be 1 to 256 characters without a newline');
  }
  return value;
};

function compilePermission(
  permission: Permission,
  limits: RegexLimits | undefined,
): CompiledPermission {
  if (typeof permission !== 'object' || permission === null) {
    throw new InvalidRuleError(String(permission), 'shape', 'a permission must be an object');
  }
  const { effect = 'allow', actions, resource, match, flags } = permission;
  if (effect !== 'allow' && effect !== 'deny') {
    throw new InvalidRuleError(String(resource), 'shape', `effect must be allow or deny`);
  }
  if (typeof resource !== 'string') {
    throw new InvalidRuleError(String(resource), 'shape', 'resource must be a string');
  }
  if (
    actions !== undefined &&
    (!Array.isArray(actions) || actions.some((a) => typeof a !== 'string' || a.length === 0))
  ) {
    throw new InvalidRuleError(resource, 'shape', 'actions must be a list of non-empty strings');
  }
  const spec = {
    pattern: resource,
    ...(match && { match }),
    ...(flags !== undefined && { flags }),
  };
  return {
    actions:
      actions === undefined || actions.includes('*')
        ? null
        : new Set(actions.map((a) => a.toLowerCase())),
    matches: compilePattern(spec, limits),
  };
}

const permissionSchema = z.strictObject({
  effect: z.enum(['allow', 'deny']).optional(),
  actions: z.array(z.string().min(1)).optional(),
  resource: z.string(),
  match: z.enum(['exact', 'glob', 'regex']).optional(),
  flags: z.string().optional(),
});

const schema = z
  .strictObject({
    name: z.string().min(1).default('authorizer'),
    rules: z
      .strictObject({
        roles: z.record(z.string().regex(NAME), z.array(permissionSchema)).optional(),
        grants: z.record(z.string().regex(NAME), z.array(z.string().regex(NAME))).optional(),
      })
      .default({}),
    store: z
      .custom<PolicyStore>(
        (s) =>
          typeof (s as PolicyStore | null)?.load === 'function' &&
          typeof (s as PolicyStore).apply === 'function',
        'must be a PolicyStore (memoryPolicyStore() or redisPolicyStore(client))',
      )
      .optional(),
    defaultRoles: z.array(z.string().regex(NAME)).default([]),
    maxResourceLength: z.number().int().positive().default(2048),
    regexLimits: z
      .strictObject({
        maxPatternLength: z.number().int().positive().optional(),
        maxUnboundedQuantifiers: z.number().int().min(0).optional(),
      })
      .optional(),
    resyncIntervalMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3_600_000)
      .default(30_000),
    clock: clockOption,
  })
  .superRefine((o, ctx) => {
    for (const [role, permissions] of Object.entries(o.rules.roles ?? {})) {
      permissions.forEach((permission, index) => {
        try {
          compilePermission(permission as Permission, o.regexLimits);
        } catch (err) {
          if (!(err instanceof InvalidRuleError)) throw err;
          ctx.addIssue({
            code: 'custom',
            message: err.message,
            path: ['rules', 'roles', role, index, 'resource'],
          });
        }
      });
    }
  });

/**
 * Create an authorizer: roles map to permissions; a permission names actions and a
 * resource pattern (exact, glob or regex) and allows or denies; **deny wins**. A
 * subject's roles come from static `rules.grants`, from the store, and from
 * `defaultRoles`.
 *
 * Changes (`setRole`, `deleteRole`, `grant`, `revoke`) are written to the store, which
 * versions them and notifies every instance: with `redisPolicyStore`, other instances
 * apply a change as soon as its pub/sub message arrives (milliseconds), and reload the
 * whole rule set when they detect a gap (a lost message, a reconnect, or the periodic
 * `resyncIntervalMs` check). No restart, no polling on the request path: `can()` is an
 * in-memory check.
 *
 * Regex rules go through the ReDoS guard ({@link checkRegex}) when added; resources
 * longer than `maxResourceLength` are denied without being matched.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { authorizer, redisPolicyStore } from 'girder/jwt';
 *
 * const authz = authorizer({
 *   rules: {
 *     roles: {
 *       buyer: [{ actions: ['GET', 'POST'], resource: '/orders/**' }],
 *       support: [
 *         { actions: ['GET'], resource: '/orders/**' },
 *         { effect: 'deny', actions: ['*'], resource: '^/orders/\\d+/refund$', match: 'regex' },
 *       ],
 *     },
 *   },
 *   defaultRoles: ['buyer'],
 *   store: redisPolicyStore(new Redis(process.env.REDIS_URL!)),
 * });
 *
 * await authz.grant('u-7', 'support');
 * authz.can('u-7', 'POST', '/orders/9/refund'); // false: the deny wins over buyer's allow
 * ```
 */
export function authorizer(options: AuthorizerOptions = {}): Authorizer & AsyncDisposable {
  const o = parseOptions('authorizer', schema, options);
  const limits = o.regexLimits;
  const ownsStore = o.store === undefined;
  const store = o.store ?? memoryPolicyStore();
  const events = new TypedEmitter<AuthorizerEvents>();
  const staticRoles = new Map<string, Permission[]>(Object.entries(o.rules.roles ?? {}));
  const staticGrants = new Map<string, Set<string>>(
    Object.entries(o.rules.grants ?? {}).map(([subject, roles]) => [subject, new Set(roles)]),
  );

  let version = 0;
  let highestSeen = 0;
  let dynamicRoles = new Map<string, Permission[]>();
  let dynamicGrants = new Map<string, Set<string>>();
  let compiled = new Map<string, CompiledRole>();
  let closed = false;
  let unsubscribe: (() => void) | undefined;
  let timer: TimerHandle | undefined;
  let reloading: Promise<void> | undefined;

  const compileRole = (role: string): CompiledRole | undefined => {
    const permissions = [...(staticRoles.get(role) ?? []), ...(dynamicRoles.get(role) ?? [])];
    if (permissions.length === 0) return undefined;
    const allow: CompiledPermission[] = [];
    const deny: CompiledPermission[] = [];
    for (const permission of permissions) {
      const isDeny = permission?.effect === 'deny';
      try {
        (isDeny ? deny : allow).push(compilePermission(permission, limits));
      } catch (err) {
        if (!(err instanceof InvalidRuleError)) throw err;
        if (isDeny) deny.push(DENY_EVERYTHING);
        events.emit('invalidRule', { role, permission, error: err });
      }
    }
    return { allow, deny };
  };
  const recompile = (role: string) => {
    const role_ = compileRole(role);
    if (role_) compiled.set(role, role_);
    else compiled.delete(role);
  };
  const install = (snapshot: PolicySnapshot) => {
    dynamicRoles = new Map(Object.entries(snapshot.roles));
    dynamicGrants = new Map(
      Object.entries(snapshot.grants).map(([subject, roles]) => [subject, new Set(roles)]),
    );
    compiled = new Map();
    for (const role of new Set([...staticRoles.keys(), ...dynamicRoles.keys()])) recompile(role);
    version = snapshot.version;
    highestSeen = Math.max(highestSeen, version);
    events.emit('changed', { version, change: null });
  };

  /** Reload the whole rule set; coalesces, and repeats while a newer version was seen. */
  const reload = (): Promise<void> => {
    reloading ??= (async () => {
      try {
        do {
          const snapshot = await store.load();
          if (closed) return;
          if (snapshot.version >= version) install(snapshot);
        } while (highestSeen > version && !closed);
      } catch (error) {
        events.emit('syncError', { error });
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };

  /** A change (or a resync request) from the store. */
  const onChange = (at: number, change: PolicyChange | null) => {
    if (closed) return;
    if (change === null) {
      void resync();
      return;
    }
    highestSeen = Math.max(highestSeen, at);
    if (at <= version) return;
    if (at === version + 1 && reloading === undefined) {
      applyChange(dynamicRoles, dynamicGrants, change);
      if (change.op === 'setRole' || change.op === 'deleteRole') recompile(change.role);
      version = at;
      events.emit('changed', { version, change });
    } else {
      void reload();
    }
  };

  const resync = async () => {
    try {
      // Subscribing failed at start (store down): try again, then compare versions.
      unsubscribe ??= await store.subscribe(onChange);
      const remote = await store.version();
      highestSeen = Math.max(highestSeen, remote);
      if (remote !== version) await reload();
    } catch (error) {
      events.emit('syncError', { error });
    }
  };

  const schedule = () => {
    if (o.resyncIntervalMs === 0 || closed) return;
    timer = o.clock.setTimeout(() => {
      void resync().finally(schedule);
    }, o.resyncIntervalMs);
  };

  // Never rejects: a store that is down at start leaves the static rules in force,
  // emits syncError, and is retried by the resync timer.
  const initial = (async () => {
    try {
      unsubscribe = await store.subscribe(onChange);
    } catch (error) {
      events.emit('syncError', { error });
    }
    await reload();
    schedule();
  })();

  // Static roles apply before the first load completes.
  for (const role of staticRoles.keys()) recompile(role);

  const rolesOf = (subject: string): string[] => [
    ...new Set([
      ...o.defaultRoles,
      ...(staticGrants.get(subject) ?? []),
      ...(dynamicGrants.get(subject) ?? []),
    ]),
  ];

  const decide = (subject: string, action: string, resource: string): boolean => {
    if (typeof resource !== 'string' || resource.length > o.maxResourceLength) return false;
    const act = String(action).toLowerCase();
    let allowed = false;
    const visit = (role: string): boolean => {
      const r = compiled.get(role);
      if (r === undefined) return true;
      for (const p of r.deny) {
        if ((p.actions === null || p.actions.has(act)) && p.matches(resource)) return false;
      }
      if (!allowed) {
        for (const p of r.allow) {
          if ((p.actions === null || p.actions.has(act)) && p.matches(resource)) {
            allowed = true;
            break;
          }
        }
      }
      return true;
    };
    for (const role of o.defaultRoles) if (!visit(role)) return false;
    for (const role of staticGrants.get(subject) ?? []) if (!visit(role)) return false;
    for (const role of dynamicGrants.get(subject) ?? []) if (!visit(role)) return false;
    return allowed;
  };

  const can = (subject: string, action: string, resource: string): boolean => {
    for (const [name, value] of [
      ['subject', subject],
      ['action', action],
      ['resource', resource],
    ] as const) {
      if (typeof value !== 'string') throw new InvalidArgumentError(name, 'must be a string');
    }
    const allowed = decide(subject, action, resource);
    if (events.has('decision')) events.emit('decision', { subject, action, resource, allowed });
    return allowed;
  };

  /** Write a change, then apply it here at once rather than waiting for the notification. */
  const write = async (change: PolicyChange) => {
    await initial;
    const at = await store.apply(change);
    onChange(at, change);
  };

  return {
    can,
    async authorize(subject, action, resource) {
      await initial;
      if (!can(subject, action, resource)) throw new AccessDeniedError(subject, action, resource);
    },
    ready: () => initial,
    async setRole(role, permissions) {
      checkName('role', role);
      if (!Array.isArray(permissions)) {
        throw new InvalidArgumentError('permissions', 'must be a list of permissions');
      }
      const clean = permissions.map((p) => {
        compilePermission(p, limits);
        return permissionSchema.parse(p) as Permission;
      });
      await write({ op: 'setRole', role, permissions: clean });
    },
    async deleteRole(role) {
      await write({ op: 'deleteRole', role: checkName('role', role) });
    },
    async grant(subject, role) {
      await write({
        op: 'grant',
        subject: checkName('subject', subject),
        role: checkName('role', role),
      });
    },
    async revoke(subject, role) {
      await write({
        op: 'revoke',
        subject: checkName('subject', subject),
        role: checkName('role', role),
      });
    },
    rolesOf,
    get version() {
      return version;
    },
    events,
    async close() {
      closed = true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
      unsubscribe?.();
      if (ownsStore) await store.close();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}
