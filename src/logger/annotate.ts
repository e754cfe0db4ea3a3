import { InvalidArgumentError } from '../core/index.js';
import { isFields } from './fields.js';
import type { LogFields } from './logger.js';

// A registered symbol, not a module-level WeakMap, so annotations survive when the
// ESM and CJS builds of girder are both loaded in one process.
const ANNOTATIONS = Symbol.for('girder.logger.annotations');
// Frozen or sealed errors cannot take a property; remember theirs here instead.
const sealedAnnotations = new WeakMap<object, LogFields>();

type Annotated = { [ANNOTATIONS]?: LogFields };

/** The annotations stored on `err`, without copying; internal to the serialiser. */
export function readAnnotations(err: object): LogFields | undefined {
  return sealedAnnotations.get(err) ?? (err as Annotated)[ANNOTATIONS];
}

/**
 * Attach context to an error as it bubbles up, without logging it. Later calls on the
 * same error merge into earlier ones (a later value wins on the same key). The context
 * shows up as `context` wherever the error is logged, redacted like any other field.
 * Returns `err` itself so you can write `throw annotate(err, {...})`.
 *
 * Only objects can carry context: a thrown string or number is returned unchanged and
 * its annotations are dropped.
 *
 * @throws InvalidArgumentError when `fields` is not an object.
 *
 * @example
 * ```ts
 * import { annotate } from 'girder/logger';
 *
 * async function reserveStock(orderId: string, sku: string) {
 *   try {
 *     await inventory.deduct(sku, 1);
 *   } catch (err) {
 *     throw annotate(err, { orderId, sku }); // logged once, later, by the handler
 *   }
 * }
 * ```
 */
export function annotate<E>(err: E, fields: LogFields): E {
  if (!isFields(fields)) throw new InvalidArgumentError('fields', 'must be an object');
  if (err === null || (typeof err !== 'object' && typeof err !== 'function')) return err;
  const target = err as object;
  const merged = { ...readAnnotations(target), ...fields };
  try {
    if (Object.hasOwn(target, ANNOTATIONS)) {
      (target as Annotated)[ANNOTATIONS] = merged;
    } else {
      // Non-enumerable so other serialisers and `{...err}` do not pick it up.
      Object.defineProperty(target, ANNOTATIONS, {
        value: merged,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
  } catch {
    // Frozen or sealed: the property cannot be written (strict mode throws).
    sealedAnnotations.set(target, merged);
  }
  return err;
}

/**
 * The context attached to `err` by {@link annotate} (a copy), or an empty object.
 *
 * @example
 * ```ts
 * import { annotate, annotationsOf } from 'girder/logger';
 *
 * const err = annotate(new Error('payment declined'), { orderId: 'o-1' });
 * annotationsOf(err); // { orderId: 'o-1' }
 * ```
 */
export function annotationsOf(err: unknown): LogFields {
  if (err === null || (typeof err !== 'object' && typeof err !== 'function')) return {};
  return { ...readAnnotations(err) };
}
