import { readAnnotations } from './annotate.js';
import type { LogFields } from './logger.js';

/** Replaces a reference back to an object already on the current path. */
export const CIRCULAR = '[Circular]';
/** Replaces an object nested deeper than the depth limit. */
export const TRUNCATED = '[Truncated]';

/** Default of the `maxDepth` redaction option. */
export const DEFAULT_MAX_DEPTH = 10;
/** Upper bound of `maxDepth`: keeps the recursive walk far from the stack limit. */
export const MAX_DEPTH_LIMIT = 100;

// What to do with the value under a key. Non-negative actions index `Rules.partial`.
/** Keep the value (and walk into it). */
export const KEEP = -1;
/** Replace the whole value by the mask. */
export const MASK = -2;

/** Masking rules compiled from redaction options; keys are {@link normalizeKey}ed. */
export interface Rules {
  /** Normalised key -> {@link MASK}, or an index into `partial`. */
  readonly actions: ReadonlyMap<string, number>;
  /** Replacement for fully masked values. */
  readonly mask: string;
  /** Partial maskers of string values, referenced by index from `actions`. */
  readonly partial: readonly ((value: string) => string)[];
}

/** Makes a fields object safe to log; see {@link createWalker}. */
export interface Walker {
  /** The safe form of `fields`: `fields` itself when nothing needed to change. */
  fields(fields: LogFields): LogFields;
}

/** `apiKey`, `API_KEY` and `api-key` all name the same thing. */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

// Bounds the per-walker key cache so objects with unbounded key sets (ids as keys)
// cannot grow memory; it only affects speed, never output.
const KEY_CACHE_LIMIT = 4096;

const objectToString = Object.prototype.toString;

function isError(value: object): value is Error {
  return value instanceof Error || objectToString.call(value) === '[object Error]';
}

// Objects with their own JSON form or no enumerable state are left to the sink.
function isOpaque(value: object): boolean {
  return (
    typeof (value as { toJSON?: unknown }).toJSON === 'function' ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof WeakMap ||
    value instanceof WeakSet ||
    value instanceof Promise ||
    value instanceof RegExp
  );
}

// `out[key] = v` with key `__proto__` would change the prototype instead.
function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    out[key] = value;
  }
}

function errorType(err: Error): string {
  const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof ctor === 'string' && ctor !== '' && ctor !== 'Error') return ctor;
  return typeof err.name === 'string' && err.name !== '' ? err.name : 'Error';
}

/** A fresh plain record of an error: type, message, code, own fields, context, stack, cause. */
function errorRecord(err: Error): Record<string, unknown> {
  const record: Record<string, unknown> = {
    type: errorType(err),
    message: typeof err.message === 'string' ? err.message : String(err.message),
  };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') record.code = code;
  for (const key of Object.keys(err)) {
    // Like pino: the structural keys win over same-named own properties.
    if (key === 'stack' || key === 'cause' || key === 'errors' || key in record) continue;
    // GirderError sets `name` as an own property; it only adds noise when it equals `type`.
    if (key === 'name' && err.name === record.type) continue;
    setKey(record, key, (err as unknown as Record<string, unknown>)[key]);
  }
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors)) record.errors = errors;
  const context = readAnnotations(err);
  if (context !== undefined) record.context = context;
  if (typeof err.stack === 'string') record.stack = err.stack;
  if (err.cause !== undefined) record.cause = err.cause;
  return record;
}

/**
 * Build a walker that returns fields safe to hand to any sink: errors become plain
 * records, masked keys are replaced, cycles become {@link CIRCULAR} and objects deeper
 * than `maxDepth` become {@link TRUNCATED}. Copy-on-write: the input is never mutated,
 * and an input needing no change is returned as is, so clean fields cost one pass and
 * no allocation beyond the ancestor stack.
 */
export function createWalker(rules: Rules | undefined, maxDepth: number): Walker {
  const cache = new Map<string, number>();

  const actionOf = (key: string): number => {
    let action = cache.get(key);
    if (action === undefined) {
      action = rules?.actions.get(normalizeKey(key)) ?? KEEP;
      if (cache.size < KEY_CACHE_LIMIT) cache.set(key, action);
    }
    return action;
  };

  const maskPartially = (value: unknown, masker: (value: string) => string): unknown => {
    if (value === null || value === undefined || typeof value === 'boolean') return value;
    if (typeof value === 'string') return masker(value);
    if (typeof value === 'number' || typeof value === 'bigint') return masker(String(value));
    if (Array.isArray(value)) {
      // One level only: a list of numbers; anything nested is masked whole.
      return value.map((item) =>
        typeof item === 'string' || typeof item === 'number' ? masker(String(item)) : rules?.mask,
      );
    }
    return rules?.mask;
  };

  const visit = (value: unknown, depth: number, path: object[]): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (path.includes(value)) return CIRCULAR;
    if (depth > maxDepth) return TRUNCATED;
    if (Array.isArray(value)) return visitArray(value, depth, path);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return visitRecord(value as Record<string, unknown>, value, false, depth, path);
    }
    if (isError(value)) return visitRecord(errorRecord(value), value, true, depth, path);
    if (isOpaque(value)) return value;
    // Class instances: walked like records, because their fields can hold secrets too.
    return visitRecord(value as Record<string, unknown>, value, false, depth, path);
  };

  const visitArray = (array: readonly unknown[], depth: number, path: object[]): unknown => {
    let out: unknown[] | undefined;
    path.push(array);
    for (let i = 0; i < array.length; i++) {
      const item = array[i];
      const next = typeof item === 'object' && item !== null ? visit(item, depth + 1, path) : item;
      if (out !== undefined) out[i] = next;
      else if (!Object.is(next, item)) {
        out = array.slice(0, i);
        out[i] = next;
      }
    }
    path.pop();
    return out ?? array;
  };

  /**
   * Walk the entries of `source`. `owner` is the object that marks the path for cycle
   * detection (the error, when `source` is its record). A `fresh` source is ours to
   * modify in place; any other is copied on the first change.
   */
  const visitRecord = (
    source: Record<string, unknown>,
    owner: object,
    fresh: boolean,
    depth: number,
    path: object[],
  ): unknown => {
    let out: Record<string, unknown> | undefined = fresh ? source : undefined;
    const keys = Object.keys(source);
    path.push(owner);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const value = source[key];
      const action = rules === undefined ? KEEP : actionOf(key);
      let next: unknown;
      if (action === KEEP) {
        // Inline the primitive case: most field values are strings and numbers.
        next = typeof value === 'object' && value !== null ? visit(value, depth + 1, path) : value;
      } else if (action === MASK) next = rules?.mask;
      else next = maskPartially(value, rules?.partial[action] as (value: string) => string);

      if (out === undefined) {
        if (Object.is(next, value)) continue;
        out = {};
        for (let j = 0; j < i; j++) {
          const previous = keys[j] as string;
          setKey(out, previous, source[previous]);
        }
        setKey(out, key, next);
      } else if (!fresh || !Object.is(next, value)) {
        setKey(out, key, next);
      }
    }
    path.pop();
    return out ?? source;
  };

  return {
    fields: (fields) => visitRecord(fields, fields, false, 0, []) as LogFields,
  };
}
