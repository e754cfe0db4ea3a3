import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkRegex,
  compilePattern,
  InvalidRuleError,
  resourceMatcher,
} from '../../src/jwt/index.js';

const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRuleError);
    expect((err as InvalidRuleError).code).toBe('INVALID_RULE');
    return (err as InvalidRuleError).reason;
  }
  return 'accepted';
};

describe('checkRegex: the ReDoS guard', () => {
  it('accepts ordinary anchored patterns', () => {
    for (const source of [
      '^/orders/\\d+$',
      '^/api/v\\d+/users/[^/]+$',
      '^/(orders|carts)/\\d{1,12}$',
      '^/files/[\\w.-]+\\.(png|jpe?g)$',
      '(ab)+',
      '(a+)?',
      '[(]+',
      '\\(a+\\)+',
      '(a){1,5}',
      '((a)+)',
      '^/a/(?:b|c)/d$',
      '^/u/(?<id>\\d+)$',
    ]) {
      expect(
        reasonOf(() => checkRegex(source)),
        source,
      ).toBe('accepted');
    }
  });

  it('refuses nested quantifiers, backreferences and lookaround as unsafe', () => {
    for (const source of [
      '^(a+)+$',
      '(a*)*',
      '(a|aa)+',
      '^(\\w+\\s?)*$',
      '(x+x+)+y',
      '(.*a){10}',
      '((a+))+',
      '(?:a|b)*c',
      '(?<n>a+){2}',
      '(a)\\1',
      '(?<n>a)\\k<n>',
      '(?=a)a',
      '(?!a)b',
      '(?<=a)b',
      '(?<!a)b',
    ]) {
      expect(
        reasonOf(() => checkRegex(source)),
        source,
      ).toBe('unsafe');
    }
  });

  it('refuses too many unbounded quantifiers (polynomial backtracking), configurable', () => {
    expect(reasonOf(() => checkRegex('.*a.*b.*c'))).toBe('unsafe');
    expect(reasonOf(() => checkRegex('a{2,}b{3,}c+'))).toBe('unsafe');
    expect(reasonOf(() => checkRegex('.*a.*b'))).toBe('accepted');
    expect(reasonOf(() => checkRegex('.*a.*b.*c', '', { maxUnboundedQuantifiers: 3 }))).toBe(
      'accepted',
    );
    expect(reasonOf(() => checkRegex('a{2,5}b{3}c?d{1,9}'))).toBe('accepted');
  });

  it('refuses bad syntax, long patterns and other flags', () => {
    expect(reasonOf(() => checkRegex('('))).toBe('syntax');
    expect(reasonOf(() => checkRegex('[a-'))).toBe('syntax');
    expect(reasonOf(() => checkRegex(''))).toBe('syntax');
    expect(reasonOf(() => checkRegex('a'.repeat(257)))).toBe('too-long');
    expect(reasonOf(() => checkRegex('a'.repeat(30), '', { maxPatternLength: 20 }))).toBe(
      'too-long',
    );
    expect(reasonOf(() => checkRegex('a', 'g'))).toBe('flags');
    expect(reasonOf(() => checkRegex('a', 'y'))).toBe('flags');
    expect(reasonOf(() => checkRegex('a', 'iu'))).toBe('accepted');
  });
});

describe('globs', () => {
  const table: Array<[string, string, boolean]> = [
    ['/orders/*', '/orders/42', true],
    ['/orders/*', '/orders/', true],
    ['/orders/*', '/orders/42/items', false],
    ['/orders/*/items', '/orders/42/items', true],
    ['/static/**', '/static/css/site.css', true],
    ['/static/**', '/static', true],
    ['/static/**', '/staticfile', false],
    ['/a/**/b', '/a/b', true],
    ['/a/**/b', '/a/x/y/b', true],
    ['/a/**/b', '/a/xb', false],
    ['/p/?', '/p/a', true],
    ['/p/?', '/p/ab', false],
    ['/p/?', '/p//', false],
    ['*.css', 'site.css', true],
    ['*.css', 'a/site.css', false],
    ['**', '', true],
    ['/exact', '/exact', true],
    ['/exact', '/exact/', false],
  ];
  for (const [glob, path, expected] of table) {
    it(`${glob} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(path)}`, () => {
      expect(compilePattern(glob)(path)).toBe(expected);
    });
  }

  // A plain backtracking reference of the documented semantics, fine for tiny inputs.
  type Token = string | '*' | '**' | '?';
  const tokenize = (glob: string): Token[] => {
    const tokens: Token[] = [];
    for (let i = 0; i < glob.length; i++) {
      if (glob[i] === '*' && glob[i + 1] === '*') {
        while (glob[i + 1] === '*') i++;
        tokens.push('**');
      } else tokens.push(glob[i]!);
    }
    return tokens;
  };
  const reference = (t: Token[], i: number, s: string, j: number): boolean => {
    if (i === t.length) return j === s.length;
    const token = t[i];
    if (token === '**') {
      for (let k = j; k <= s.length; k++) if (reference(t, i + 1, s, k)) return true;
      return false;
    }
    // `/**/` may match a single `/` (continue at the second slash); a trailing `/**` nothing.
    if (token === '/' && t[i + 1] === '**' && t[i + 2] === '/' && reference(t, i + 2, s, j))
      return true;
    if (token === '/' && i === t.length - 2 && t[i + 1] === '**' && j === s.length) return true;
    if (token === '*') {
      for (let k = j; k <= s.length; k++) {
        if (reference(t, i + 1, s, k)) return true;
        if (s[k] === '/' || k === s.length) return false;
      }
      return false;
    }
    if (j >= s.length) return false;
    if (token === '?') return s[j] !== '/' && reference(t, i + 1, s, j + 1);
    return s[j] === token && reference(t, i + 1, s, j + 1);
  };

  it('property: the linear-time automaton agrees with a backtracking reference', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.constantFrom('a', 'b', '/', '*', '**', '?'), { maxLength: 8 })
          .map((p) => p.join('')),
        fc.array(fc.constantFrom('a', 'b', '/'), { maxLength: 12 }).map((p) => p.join('')),
        (glob, path) => {
          fc.pre(glob.length > 0);
          expect(compilePattern({ pattern: glob, match: 'glob' })(path)).toBe(
            reference(tokenize(glob), 0, path, 0),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('compilePattern / resourceMatcher', () => {
  it('strings are exact unless they contain * or ?; RegExp and {match} are explicit', () => {
    expect(compilePattern('/a.b')('/aXb')).toBe(false);
    expect(compilePattern({ pattern: '/a*', match: 'exact' })('/a*')).toBe(true);
    expect(compilePattern({ pattern: '/a*', match: 'exact' })('/ab')).toBe(false);
    expect(compilePattern(/^\/users\/\d+$/)('/users/7')).toBe(true);
    expect(compilePattern({ pattern: '^/USERS$', match: 'regex', flags: 'i' })('/users')).toBe(
      true,
    );
  });

  it('refuses bad shapes with INVALID_RULE', () => {
    expect(reasonOf(() => compilePattern(''))).toBe('shape');
    expect(reasonOf(() => compilePattern(42 as never))).toBe('shape');
    expect(reasonOf(() => compilePattern({ pattern: '/a', match: 'fuzzy' as never }))).toBe(
      'shape',
    );
    expect(reasonOf(() => compilePattern({ pattern: '/a', flags: 'i' }))).toBe('flags');
    expect(reasonOf(() => compilePattern(/(a+)+/))).toBe('unsafe');
    expect(reasonOf(() => compilePattern(/a/g))).toBe('flags');
  });

  it('resourceMatcher: any of exact, glob and regex', () => {
    const isPublic = resourceMatcher(['/login', '/static/**', /^\/products\/\d+$/]);
    expect(['/login', '/static/a.css', '/products/12'].map(isPublic)).toEqual([true, true, true]);
    expect(['/login/x', '/products/x', '/admin'].map(isPublic)).toEqual([false, false, false]);
    expect(resourceMatcher([])('/anything')).toBe(false);
  });
});
