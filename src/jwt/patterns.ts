import { InvalidRuleError } from './errors.js';

/**
 * How a pattern matches a resource (a path such as `/orders/42`):
 * - `exact`: string equality;
 * - `glob`: `*` is any run of characters except `/`, `**` any run including `/`
 *   (a `**` between two slashes also matches a single `/`; a trailing `/**` also matches
 *   the path without it), `?` one character except `/`; everything else is literal. Matched by a
 *   linear-time automaton, never by a backtracking regex, so no glob can be made slow;
 * - `regex`: a JavaScript regular expression, checked by {@link checkRegex} when added.
 */
export type MatchKind = 'exact' | 'glob' | 'regex';

/**
 * A resource pattern: a string (a glob when it contains `*` or `?`, otherwise exact),
 * a `RegExp`, or an explicit `{pattern, match, flags}`.
 */
export type ResourcePattern = string | RegExp | PatternSpec;

/** An explicit pattern with its kind (the serialisable form). */
export interface PatternSpec {
  /** The pattern text. */
  pattern: string;
  /** How it matches; default as for a plain string. */
  match?: MatchKind;
  /** Regex flags: only `i` and `u` are accepted. */
  flags?: string;
}

/** Limits of the ReDoS guard applied to regex patterns. */
export interface RegexLimits {
  /** Longest accepted pattern source, characters. Default `256`. */
  maxPatternLength?: number;
  /**
   * Most unbounded quantifiers (`*`, `+`, `{n,}`) in one regex. Each one that can
   * overlap another multiplies backtracking on a crafted input (O(n^k)), so keep it
   * small. Default `2`.
   */
  maxUnboundedQuantifiers?: number;
}

/**
 * The defaults of {@link RegexLimits}: 256 characters, 2 unbounded quantifiers.
 *
 * @example
 * ```ts
 * import { authorizer, DEFAULT_REGEX_LIMITS } from 'girder/jwt';
 *
 * const authz = authorizer({ regexLimits: { ...DEFAULT_REGEX_LIMITS, maxUnboundedQuantifiers: 3 } });
 * ```
 */
export const DEFAULT_REGEX_LIMITS: Required<RegexLimits> = {
  maxPatternLength: 256,
  maxUnboundedQuantifiers: 2,
};

const ALLOWED_FLAGS = /^[iu]*$/;

interface Frame {
  /** A quantifier or a nested quantified group occurs inside. */
  quantified: boolean;
  /** An alternation occurs inside. */
  alternation: boolean;
}

/**
 * The ReDoS guard: compile `source` and refuse patterns that can backtrack
 * catastrophically. Refused, with {@link InvalidRuleError}:
 * - longer than `maxPatternLength` (`too-long`); flags other than `i` / `u` (`flags`);
 *   not a valid regex (`syntax`);
 * - backreferences and lookaround (`unsafe`): they defeat any cheap analysis;
 * - nested quantifiers — a group repeated more than once that itself contains a
 *   quantifier or an alternation, like `(a+)+`, `(\w+\s?)*`, `(a|aa)+` (`unsafe`): the
 *   classic exponential blow-up;
 * - more than `maxUnboundedQuantifiers` unbounded quantifiers (`unsafe`): bounds the
 *   polynomial blow-up of patterns like `.*a.*b.*c`.
 *
 * This is a conservative heuristic, not a proof: it refuses some harmless patterns
 * (rewrite `(/[a-z]+)*` as `[/a-z]*`) and it cannot make a regex linear. Callers also
 * cap the length of what they match (see the authorizer's `maxResourceLength`).
 *
 * @example
 * ```ts
 * import { checkRegex } from 'girder/jwt';
 *
 * checkRegex('^/orders/\\d+$'); // RegExp /^\/orders\/\d+$/
 * checkRegex('^(a+)+$'); // throws InvalidRuleError, reason 'unsafe'
 * ```
 */
export function checkRegex(source: string, flags = '', limits: RegexLimits = {}): RegExp {
  const { maxPatternLength, maxUnboundedQuantifiers } = { ...DEFAULT_REGEX_LIMITS, ...limits };
  if (source.length === 0) throw new InvalidRuleError(source, 'syntax', 'empty pattern');
  if (source.length > maxPatternLength) {
    throw new InvalidRuleError(
      source,
      'too-long',
      `longer than ${maxPatternLength} characters (maxPatternLength)`,
    );
  }
  if (!ALLOWED_FLAGS.test(flags)) {
    throw new InvalidRuleError(source, 'flags', `flags "${flags}": only i and u are accepted`);
  }
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (err) {
    throw new InvalidRuleError(source, 'syntax', err instanceof Error ? err.message : String(err));
  }
  const unsafe = (detail: string): never => {
    throw new InvalidRuleError(source, 'unsafe', detail);
  };

  const stack: Frame[] = [{ quantified: false, alternation: false }];
  // What the next quantifier would apply to: nothing, a plain atom, or a closed group.
  let last: 'none' | 'atom' | Frame = 'none';
  let unbounded = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && source[i + 2] === '<')) {
        unsafe('backreferences are not allowed');
      }
      i += 2;
      last = 'atom';
      continue;
    }
    if (c === '[') {
      i++;
      if (source[i] === '^') i++;
      if (source[i] === ']') i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i++;
      last = 'atom';
      continue;
    }
    if (c === '(') {
      if (/^\(\?(=|!|<=|<!)/.test(source.slice(i, i + 4))) unsafe('lookaround is not allowed');
      stack.push({ quantified: false, alternation: false });
      const named = /^\(\?<[^>]+>/.exec(source.slice(i));
      i += named ? named[0].length : source.startsWith('(?:', i) ? 3 : 1;
      last = 'none';
      continue;
    }
    if (c === ')') {
      const frame = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      parent.quantified ||= frame.quantified;
      i++;
      last = frame;
      continue;
    }
    if (c === '|') {
      stack[stack.length - 1]!.alternation = true;
      i++;
      last = 'none';
      continue;
    }
    const braces = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i)) : null;
    if (c === '*' || c === '+' || c === '?' || braces) {
      const max = braces
        ? braces[2] === undefined
          ? Number(braces[1])
          : braces[3] === ''
            ? Number.POSITIVE_INFINITY
            : Number(braces[3])
        : c === '?'
          ? 1
          : Number.POSITIVE_INFINITY;
      if (typeof last === 'object' && max > 1 && (last.quantified || last.alternation)) {
        unsafe('nested quantifiers: a repeated group contains a quantifier or an alternation');
      }
      if (max === Number.POSITIVE_INFINITY && ++unbounded > maxUnboundedQuantifiers) {
        unsafe(
          `more than ${maxUnboundedQuantifiers} unbounded quantifiers (maxUnboundedQuantifiers)`,
        );
      }
      stack[stack.length - 1]!.quantified = true;
      i += braces ? braces[0].length : 1;
      if (source[i] === '?') i++; // lazy modifier
      last = 'none';
      continue;
    }
    i++;
    last = 'atom';
  }
  return regex;
}

// Glob tokens: a literal character code, or one of the wildcards below.
const ONE = -1; // ?
const STAR = -2; // *
const GLOBSTAR = -3; // **
const SLASH = 47;

function globTokens(glob: string): number[] {
  const tokens: number[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charCodeAt(i);
    if (c === 42 /* * */) {
      if (glob.charCodeAt(i + 1) === 42) {
        i++;
        while (glob.charCodeAt(i + 1) === 42) i++;
        tokens.push(GLOBSTAR);
      } else tokens.push(STAR);
    } else if (c === 63 /* ? */) tokens.push(ONE);
    else tokens.push(c);
  }
  return tokens;
}

/**
 * Compile a glob into a matcher that simulates its automaton: O(length × pattern)
 * whatever the input, no backtracking.
 *
 * @internal
 */
export function globMatcher(glob: string): (value: string) => boolean {
  const tokens = globTokens(glob);
  const m = tokens.length;
  // Literal globs need no automaton.
  if (tokens.every((t) => t >= 0)) return (value) => value === glob;
  let current = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  const close = (states: Uint8Array) => {
    for (let s = 0; s < m; s++) {
      if (!states[s]) continue;
      const t = tokens[s]!;
      // A star matches the empty string: whoever is before one is also after it.
      if (t <= STAR) states[s + 1] = 1;
      if (t === SLASH && tokens[s + 1] === GLOBSTAR) {
        // `/**/` also matches a single `/`: from before the first slash, jump to the second.
        if (tokens[s + 2] === SLASH) states[s + 2] = 1;
        // A trailing `/**` also matches nothing at all: `/static/**` matches `/static`.
        if (s === m - 2) states[m] = 1;
      }
    }
  };
  return (value) => {
    current.fill(0);
    current[0] = 1;
    close(current);
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      next.fill(0);
      let alive = false;
      for (let s = 0; s < m; s++) {
        if (!current[s]) continue;
        const t = tokens[s]!;
        if (t === GLOBSTAR || (t === STAR && c !== SLASH)) next[s] = 1;
        else if (t === c || (t === ONE && c !== SLASH)) next[s + 1] = 1;
        else continue;
        alive = true;
      }
      if (!alive) return false;
      close(next);
      [current, next] = [next, current];
    }
    return current[m] === 1;
  };
}

/**
 * Compile one pattern into a predicate. Regexes go through {@link checkRegex};
 * problems throw {@link InvalidRuleError}.
 *
 * @example
 * ```ts
 * import { compilePattern } from 'girder/jwt';
 *
 * compilePattern('/orders/*')('/orders/42'); // true
 * compilePattern('/orders/*')('/orders/42/items'); // false
 * compilePattern('/static/**')('/static/css/site.css'); // true
 * compilePattern(/^\/users\/\d+$/)('/users/7'); // true
 * ```
 */
export function compilePattern(
  pattern: ResourcePattern,
  limits?: RegexLimits,
): (resource: string) => boolean {
  const spec = toSpec(pattern);
  const match = spec.match ?? (/[*?]/.test(spec.pattern) ? 'glob' : 'exact');
  if (match === 'regex') {
    const regex = checkRegex(spec.pattern, spec.flags ?? '', limits);
    return (resource) => regex.test(resource);
  }
  if (spec.flags) {
    throw new InvalidRuleError(spec.pattern, 'flags', 'flags apply to regex patterns only');
  }
  if (spec.pattern.length === 0) throw new InvalidRuleError('', 'shape', 'empty pattern');
  if (match === 'glob') return globMatcher(spec.pattern);
  if (match === 'exact') {
    const exact = spec.pattern;
    return (resource) => resource === exact;
  }
  throw new InvalidRuleError(spec.pattern, 'shape', `unknown match kind ${JSON.stringify(match)}`);
}

/**
 * Normalise a {@link ResourcePattern} to its serialisable {@link PatternSpec} form.
 *
 * @internal
 */
export function toSpec(pattern: ResourcePattern): PatternSpec {
  if (typeof pattern === 'string') return { pattern };
  if (pattern instanceof RegExp)
    return { pattern: pattern.source, match: 'regex', flags: pattern.flags };
  if (typeof pattern === 'object' && pattern !== null && typeof pattern.pattern === 'string') {
    return pattern;
  }
  throw new InvalidRuleError(
    String(pattern),
    'shape',
    'expected a string, a RegExp or {pattern, match}',
  );
}

/**
 * Compile a list of patterns into one predicate: true when any matches. Exact
 * patterns are looked up in a set; the rest are tried in order.
 *
 * @example
 * ```ts
 * import { resourceMatcher } from 'girder/jwt';
 *
 * const isPublic = resourceMatcher(['/login', '/static/**', /^\/products\/\d+$/]);
 * isPublic('/products/12'); // true
 * ```
 */
export function resourceMatcher(
  patterns: readonly ResourcePattern[],
  limits?: RegexLimits,
): (resource: string) => boolean {
  const exact = new Set<string>();
  const others: Array<(resource: string) => boolean> = [];
  for (const pattern of patterns) {
    const spec = toSpec(pattern);
    const kind = spec.match ?? (/[*?]/.test(spec.pattern) ? 'glob' : 'exact');
    if (kind === 'exact' && !spec.flags && spec.pattern.length > 0) exact.add(spec.pattern);
    else others.push(compilePattern(spec, limits));
  }
  if (others.length === 0) return (resource) => exact.has(resource);
  return (resource) => {
    if (exact.has(resource)) return true;
    for (const matches of others) if (matches(resource)) return true;
    return false;
  };
}
