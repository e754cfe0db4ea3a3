import type { Clock, EventSource } from '../core/index.js';
import type { InvalidRuleError } from './errors.js';
import type { RegexLimits } from './patterns.js';
import type { Permission, PolicyChange, PolicyRules, PolicyStore } from './policy-store.js';

/** Events of an {@link Authorizer}. */
export type AuthorizerEvents = {
  /** The rules changed: one change applied, or a full reload. */
  changed: {
    /** The version now applied. */
    version: number;
    /** The change, or `null` for a full reload. */
    change: PolicyChange | null;
  };
  /**
   * A rule loaded from the store failed validation (written around girder, e.g. by
   * hand). An invalid `allow` is dropped; an invalid `deny` denies everything for the
   * role's holders until fixed (fail closed).
   */
  invalidRule: {
    /** The role holding the rule. */
    role: string;
    /** The rule. */
    permission: Permission;
    /** Why it was refused. */
    error: InvalidRuleError;
  };
  /** Reading the store failed (initial load, resync or reload); decisions use the last rules known. */
  syncError: {
    /** What the store threw. */
    error: unknown;
  };
  /** A decision was made (emitted only while someone listens). */
  decision: {
    /** Who asked. */
    subject: string;
    /** For what action. */
    action: string;
    /** On what resource. */
    resource: string;
    /** The answer. */
    allowed: boolean;
  };
};

/** Options of {@link authorizer}. Durations in milliseconds. */
export interface AuthorizerOptions {
  /** Name for logs and metrics. Default `authorizer`. */
  name?: string;
  /**
   * Static rules, from code: every instance has them, they can't be changed at run
   * time. Validated at construction (a bad pattern throws `InvalidOptionsError` naming
   * it). Dynamic rules from the store are added on top.
   */
  rules?: PolicyRules;
  /** Where dynamic roles and grants live. Default {@link memoryPolicyStore} (one process). */
  store?: PolicyStore;
  /** Roles every subject has, e.g. `['user']`. Default none. */
  defaultRoles?: string[];
  /** Resources longer than this are denied without matching (bounds regex work). Default `2048`. */
  maxResourceLength?: number;
  /** Limits of the ReDoS guard for regex rules. */
  regexLimits?: RegexLimits;
  /**
   * Compare versions with the store this often and reload on a difference: the safety
   * net under pub/sub, which drops messages while a subscriber is disconnected.
   * `0` disables. Default `30000`.
   */
  resyncIntervalMs?: number;
  /** Time source (for the resync timer). Default `systemClock`. */
  clock?: Clock;
}

/**
 * Role-based access control with deny-wins permissions matched by exact path, glob or
 * regex, and action. Create one with {@link authorizer}.
 */
export interface Authorizer {
  /** Whether `subject` may do `action` on `resource`, from the rules known now (synchronous). */
  can(subject: string, action: string, resource: string): boolean;
  /** Like {@link Authorizer.can}, after the initial load; rejects with `ACCESS_DENIED` (403) when not allowed. */
  authorize(subject: string, action: string, resource: string): Promise<void>;
  /** Resolves once the dynamic rules have been loaded the first time. */
  ready(): Promise<void>;
  /** Define or replace a dynamic role. Patterns are validated first: `INVALID_RULE`, nothing written. */
  setRole(role: string, permissions: Permission[]): Promise<void>;
  /** Remove a dynamic role (static permissions of the same name stay). */
  deleteRole(role: string): Promise<void>;
  /** Give a subject a role, on every instance sharing the store. */
  grant(subject: string, role: string): Promise<void>;
  /** Take a dynamically granted role away from a subject, on every instance. */
  revoke(subject: string, role: string): Promise<void>;
  /** The roles a subject has: static, dynamic and default. */
  rolesOf(subject: string): string[];
  /** Version of the dynamic rules this instance has applied. */
  readonly version: number;
  /** Typed events: changed, invalidRule, syncError, decision. */
  readonly events: EventSource<AuthorizerEvents>;
  /** Stop listening and resyncing (and close the store if the authorizer created it). */
  close(): Promise<void>;
}
