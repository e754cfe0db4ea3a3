import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, manualClock } from '../../src/core/index.js';
import {
  AccessDeniedError,
  type AuthorizerEvents,
  authorizer,
  InvalidRuleError,
  memoryPolicyStore,
  type PolicyListener,
  type PolicyRules,
  type PolicyStore,
} from '../../src/jwt/index.js';
import { codeOf, rejection } from './fixtures.js';

const rules: PolicyRules = {
  roles: {
    buyer: [
      { actions: ['GET', 'POST'], resource: '/orders/**' },
      { actions: ['get'], resource: '/products/*' },
    ],
    support: [
      { actions: ['GET'], resource: '/orders/**' },
      { effect: 'deny', resource: '^/orders/\\d+/refund$', match: 'regex' },
    ],
    admin: [{ resource: '/**' }],
  },
  grants: { alice: ['buyer'], bob: ['buyer', 'support'], root: ['admin'] },
};

describe('authorizer', () => {
  it('allows what a role grants, denies everything else', async () => {
    const authz = authorizer({ rules });
    await authz.ready();
    expect(authz.can('alice', 'GET', '/orders/1')).toBe(true);
    expect(authz.can('alice', 'POST', '/orders/1/refund')).toBe(true);
    expect(authz.can('alice', 'DELETE', '/orders/1')).toBe(false);
    expect(authz.can('alice', 'GET', '/admin')).toBe(false);
    expect(authz.can('nobody', 'GET', '/orders/1')).toBe(false);
    expect(authz.can('root', 'DELETE', '/anything/at/all')).toBe(true);
  });

  it('actions match case-insensitively; absent or * actions match all', () => {
    const authz = authorizer({
      rules: { roles: { r: [{ actions: ['*'], resource: '/a' }] }, grants: { u: ['r'] } },
    });
    expect(authz.can('alice', 'get', '/products/1')).toBe(false);
    const a2 = authorizer({ rules });
    expect(a2.can('alice', 'get', '/products/1')).toBe(true);
    expect(a2.can('alice', 'GeT', '/products/1')).toBe(true);
    expect(authz.can('u', 'PURGE', '/a')).toBe(true);
  });

  it('deny wins, whichever role the allow comes from', () => {
    const authz = authorizer({ rules });
    expect(authz.can('alice', 'POST', '/orders/7/refund')).toBe(true);
    expect(authz.can('bob', 'POST', '/orders/7/refund')).toBe(false);
    expect(authz.can('bob', 'GET', '/orders/7/refund')).toBe(false);
    expect(authz.can('bob', 'GET', '/orders/7')).toBe(true);
  });

  it('defaultRoles apply to every subject', () => {
    const authz = authorizer({ rules, defaultRoles: ['buyer'] });
    expect(authz.can('stranger', 'GET', '/products/3')).toBe(true);
    expect(authz.rolesOf('bob')).toEqual(['buyer', 'support']);
    expect(authz.rolesOf('stranger')).toEqual(['buyer']);
  });

  it('authorize rejects with ACCESS_DENIED (403)', async () => {
    const authz = authorizer({ rules });
    await expect(authz.authorize('alice', 'GET', '/orders/1')).resolves.toBeUndefined();
    const err = await rejection(authz.authorize('alice', 'DELETE', '/orders/1'));
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(err.code).toBe('ACCESS_DENIED');
    expect((err as AccessDeniedError).status).toBe(403);
    expect((err as AccessDeniedError).publicMessage).toBe('Forbidden');
  });

  it('grants, revocations and role changes apply at once on every authorizer of the store', async () => {
    const store = memoryPolicyStore();
    const a = authorizer({ rules, store });
    const b = authorizer({ rules, store });
    await Promise.all([a.ready(), b.ready()]);
    expect(b.can('carol', 'GET', '/orders/1')).toBe(false);
    await a.grant('carol', 'support');
    expect(b.can('carol', 'GET', '/orders/1')).toBe(true);
    await a.setRole('auditor', [{ actions: ['GET'], resource: '/reports/**' }]);
    await a.grant('carol', 'auditor');
    expect(b.can('carol', 'GET', '/reports/2025/q1')).toBe(true);
    // A dynamic deny added to a static role wins over the static allow.
    await b.setRole('buyer', [{ effect: 'deny', actions: ['POST'], resource: '/orders/**' }]);
    expect(a.can('alice', 'POST', '/orders/1')).toBe(false);
    expect(a.can('alice', 'GET', '/orders/1')).toBe(true);
    await b.deleteRole('buyer');
    expect(a.can('alice', 'POST', '/orders/1')).toBe(true);
    await b.revoke('carol', 'support');
    expect(a.can('carol', 'GET', '/orders/1')).toBe(false);
    expect(a.version).toBe(6);
    expect(b.version).toBe(6);
  });

  it('static rules with a bad pattern are INVALID_OPTIONS naming the rule', () => {
    try {
      authorizer({
        rules: { roles: { admin: [{ resource: '/ok' }, { resource: '(a+)+', match: 'regex' }] } },
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect((err as InvalidOptionsError).issues).toContainEqual(
        expect.objectContaining({
          path: 'rules.roles.admin.1.resource',
          message: expect.stringMatching(/nested/),
        }),
      );
    }
  });

  it('setRole validates first: INVALID_RULE with the reason, and nothing is written', async () => {
    const authz = authorizer({ rules });
    await authz.ready();
    const cases: Array<[object, string]> = [
      [{ resource: '(', match: 'regex' }, 'syntax'],
      [{ resource: '^(\\w+\\s?)*$', match: 'regex' }, 'unsafe'],
      [{ resource: 'a'.repeat(300), match: 'regex' }, 'too-long'],
      [{ resource: '^a$', match: 'regex', flags: 'g' }, 'flags'],
      [{ resource: 42 }, 'shape'],
      [{ resource: '/a', effect: 'maybe' }, 'shape'],
      [{ resource: '/a', actions: [''] }, 'shape'],
    ];
    for (const [permission, reason] of cases) {
      const err = await rejection(authz.setRole('r', [permission as never]));
      expect(err, JSON.stringify(permission)).toBeInstanceOf(InvalidRuleError);
      expect((err as InvalidRuleError).reason).toBe(reason);
    }
    expect(authz.version).toBe(0);
  });

  it('names with newlines or empty are INVALID_ARGUMENT', async () => {
    const authz = authorizer();
    expect(await codeOf(authz.grant('a\nb', 'r'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(authz.grant('a', ''))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(authz.setRole('', []))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(authz.setRole('r', 'x' as never))).toBe('INVALID_ARGUMENT');
  });

  it('resources longer than maxResourceLength are denied without matching', () => {
    const authz = authorizer({ rules, maxResourceLength: 64 });
    expect(authz.can('root', 'GET', `/${'a'.repeat(63)}`)).toBe(true);
    expect(authz.can('root', 'GET', `/${'a'.repeat(64)}`)).toBe(false);
  });

  it('an invalid rule written around girder: allow dropped, deny denies everything (fail closed)', async () => {
    const store = memoryPolicyStore();
    await store.apply({
      op: 'setRole',
      role: 'lax',
      permissions: [{ resource: '(a+)+', match: 'regex' }],
    });
    await store.apply({
      op: 'setRole',
      role: 'strict',
      permissions: [{ resource: '/**' }, { effect: 'deny', resource: '(', match: 'regex' }],
    });
    await store.apply({ op: 'grant', subject: 'u', role: 'lax' });
    await store.apply({ op: 'grant', subject: 'v', role: 'strict' });
    const invalid: AuthorizerEvents['invalidRule'][] = [];
    const authz = authorizer({ store });
    authz.events.on('invalidRule', (e) => invalid.push(e));
    await authz.ready();
    expect(invalid.map((e) => [e.role, e.error.reason])).toEqual([
      ['lax', 'unsafe'],
      ['strict', 'syntax'],
    ]);
    expect(authz.can('u', 'GET', 'aaaa')).toBe(false);
    expect(authz.can('v', 'GET', '/anything')).toBe(false);
  });

  /** A memory store whose notifications the test controls. */
  function leakyStore() {
    const inner = memoryPolicyStore();
    let listener: PolicyListener | undefined;
    let drop = false;
    const store: PolicyStore = {
      ...inner,
      subscribe: async (l) => {
        listener = l;
        return inner.subscribe((version, change) => {
          if (!drop) l(version, change);
        });
      },
    };
    return {
      store,
      setDrop: (value: boolean) => {
        drop = value;
      },
      reconnect: () => listener?.(0, null),
    };
  }

  it('a missed notification is repaired by a reload at the next one (versioned gap detection)', async () => {
    const { store, setDrop } = leakyStore();
    const writer = authorizer({ store });
    const reader = authorizer({ store });
    await Promise.all([writer.ready(), reader.ready()]);
    const changed = vi.fn();
    reader.events.on('changed', changed);
    setDrop(true);
    await writer.grant('u', 'admin-lite');
    setDrop(false);
    expect(reader.version).toBe(0);
    await writer.setRole('admin-lite', [{ resource: '/**' }]);
    await vi.waitFor(() => expect(reader.version).toBe(2));
    expect(reader.can('u', 'GET', '/x')).toBe(true);
    expect(changed).toHaveBeenLastCalledWith({ version: 2, change: null });
  });

  it('a reconnect notice and the periodic resync reload a stale authorizer', async () => {
    const clock = manualClock();
    const { store, setDrop, reconnect } = leakyStore();
    const writer = authorizer({ store });
    const reader = authorizer({ store, clock, resyncIntervalMs: 10_000 });
    await Promise.all([writer.ready(), reader.ready()]);
    setDrop(true);
    await writer.grant('u', 'r1');
    reconnect();
    await vi.waitFor(() => expect(reader.rolesOf('u')).toEqual(['r1']));
    await writer.grant('u', 'r2');
    expect(reader.rolesOf('u')).toEqual(['r1']);
    await clock.advanceAsync(10_000);
    await vi.waitFor(() => expect(reader.rolesOf('u')).toEqual(['r1', 'r2']));
    await reader.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a failing store: syncError, and decisions use the static rules', async () => {
    const failing: PolicyStore = {
      ...memoryPolicyStore(),
      load: async () => {
        throw new Error('down');
      },
    };
    const errors = vi.fn();
    const authz = authorizer({ rules, store: failing });
    authz.events.on('syncError', errors);
    await authz.ready();
    expect(errors).toHaveBeenCalledWith({ error: expect.any(Error) });
    expect(authz.can('alice', 'GET', '/orders/1')).toBe(true);
    await authz.close();
  });

  it('a store that cannot be subscribed to at start is subscribed by the next resync', async () => {
    const clock = manualClock();
    const inner = memoryPolicyStore();
    let attempts = 0;
    const flaky: PolicyStore = {
      ...inner,
      subscribe: async (listener) => {
        attempts += 1;
        if (attempts === 1) throw new Error('down');
        return inner.subscribe(listener);
      },
    };
    const errors = vi.fn();
    const reader = authorizer({ store: flaky, clock, resyncIntervalMs: 5_000 });
    reader.events.on('syncError', errors);
    await reader.ready();
    expect(attempts).toBe(1);
    expect(errors).toHaveBeenCalledWith({ error: expect.objectContaining({ message: 'down' }) });
    const writer = authorizer({ store: inner });
    await clock.advanceAsync(5_000);
    await vi.waitFor(() => expect(attempts).toBe(2));
    await writer.grant('u', 'ops');
    expect(reader.rolesOf('u')).toEqual(['ops']); // notified, not polled
    await reader.close();
  });

  it('emits a decision event only while someone listens', () => {
    const authz = authorizer({ rules });
    const decisions = vi.fn();
    const off = authz.events.on('decision', decisions);
    authz.can('alice', 'GET', '/orders/1');
    off();
    authz.can('alice', 'GET', '/orders/1');
    expect(decisions).toHaveBeenCalledTimes(1);
    expect(decisions).toHaveBeenCalledWith({
      subject: 'alice',
      action: 'GET',
      resource: '/orders/1',
      allowed: true,
    });
  });

  it('refuses bad options', () => {
    for (const [options, path] of [
      [{ store: {} }, 'store'],
      [{ maxResourceLength: 0 }, 'maxResourceLength'],
      [{ resyncIntervalMs: -1 }, 'resyncIntervalMs'],
      [{ defaultRoles: ['a\nb'] }, 'defaultRoles.0'],
    ] as const) {
      try {
        authorizer(options as never);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError);
        expect((err as InvalidOptionsError).issues.map((i) => i.path)).toContain(path);
      }
    }
  });
});
