import { AmbiguousPathError } from '../jwt/index.js';

// Why this file exists: a router and an auth check that read the same URL differently
// are an authorization bypass. Fastify routes on the percent-decoded path, so a rule
// denying `/orders/1/refund` compared with the raw `/orders/1/%72efund` let the refund
// through. The auth layer therefore decodes the path exactly once, refuses every form
// that could decode or normalise into another path, and authorizes on the decoded
// result (or, in Fastify, on the route the router actually matched).

const HEX = /^[0-9A-Fa-f]{2}$/;

/** Characters that must not appear in a decoded segment: they would change its meaning. */
const forbiddenIn = (segment: string): string | undefined => {
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'control character';
    // `/` `\` split segments; `%` is double-encoding; `?` `#` end the path for some parsers.
    if (c === 0x2f || c === 0x5c || c === 0x25 || c === 0x3f || c === 0x23) {
      return `encoded ${JSON.stringify(segment[i])}`;
    }
  }
  return undefined;
};

const decodeSegment = (raw: string): string => {
  if (raw.indexOf('%') === -1) return raw;
  for (let i = raw.indexOf('%'); i !== -1; i = raw.indexOf('%', i + 1)) {
    if (!HEX.test(raw.slice(i + 1, i + 3)))
      throw new AmbiguousPathError('malformed percent-encoding');
  }
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new AmbiguousPathError('percent-encoding is not UTF-8');
  }
};

/**
 * The path of a request target (`/a/b?q`), percent-decoded exactly once, or an
 * {@link AmbiguousPathError} when it could be read as another path: not starting with
 * `/`, a `\` or `#`, an empty segment (`//`), a `.` or `..` segment (plain or
 * encoded), an encoded `/` `\` `%` `?` `#`, a control character (`%00`), or a
 * malformed or non-UTF-8 percent-encoding. A trailing `/` is kept.
 *
 * @example
 * ```ts
 * import { decodeRequestPath } from 'girder/http';
 *
 * decodeRequestPath('/orders/%31/refund?x=1'); // '/orders/1/refund'
 * decodeRequestPath('/orders/1%2Frefund'); // throws AmbiguousPathError (400)
 * ```
 */
export function decodeRequestPath(url: string): string {
  if (typeof url !== 'string') throw new AmbiguousPathError('not a string');
  const q = url.indexOf('?');
  const raw = q === -1 ? url : url.slice(0, q);
  if (raw.charCodeAt(0) !== 0x2f) throw new AmbiguousPathError('not an absolute path');
  if (raw.includes('\\') || raw.includes('#')) throw new AmbiguousPathError('raw \\ or #');
  const parts = raw.split('/');
  let out = '';
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part === '') {
      if (i === parts.length - 1) break; // a trailing slash
      throw new AmbiguousPathError('empty segment');
    }
    const segment = decodeSegment(part);
    if (segment === '.' || segment === '..') throw new AmbiguousPathError('dot segment');
    const bad = forbiddenIn(segment);
    if (bad !== undefined) throw new AmbiguousPathError(bad);
    out += `/${segment}`;
  }
  return raw.endsWith('/') ? `${out}/` : out;
}

/** Index just past the `)` closing the `(` at `open` (find-my-way's regex parameters). */
const pastClosingParen = (template: string, open: number): number => {
  let depth = 0;
  for (let i = open; i < template.length; i++) {
    const c = template[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return template.length;
};

/**
 * A route template as Fastify (find-my-way) writes it (`/orders/:id/refund`,
 * `/files/*`, `/at/:lat-:lng`, `/id/:id(^\\d+)`, `::` for a literal colon) with the
 * router's decoded parameters filled in: the path the router actually matched.
 * `undefined` when a parameter is missing.
 *
 * @example
 * ```ts
 * import { matchedPath } from 'girder/http';
 *
 * matchedPath('/orders/:id/refund', { id: '1' }); // '/orders/1/refund'
 * ```
 */
export function matchedPath(template: string, params: unknown): string | undefined {
  const values = (params ?? {}) as Record<string, unknown>;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === ':' && template[i + 1] === ':') {
      out += ':';
      i += 2;
    } else if (c === ':') {
      let j = i + 1;
      while (j < template.length && !'(-./'.includes(template[j] as string)) j++;
      const value = values[template.slice(i + 1, j)];
      if (typeof value !== 'string') return undefined;
      out += value;
      i = template[j] === '(' ? pastClosingParen(template, j) : j;
    } else if (c === '*') {
      const value = values['*'];
      if (typeof value !== 'string') return undefined;
      out += value;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
