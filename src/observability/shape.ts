// The small shape tests every `<x>KindOf` recogniser shares: blocks are told apart by
// what they carry (methods, an `events` emitter), never by class.

/** @internal Any object, read field by field. */
export type Bag = Record<string, unknown>;

/** @internal Whether `v` is callable. */
export const isFn = (v: unknown): boolean => typeof v === 'function';

/**
 * @internal `block` read as a {@link Bag} when it is an object or a function (decorated
 * functions carry their events too) with an `events` emitter; otherwise undefined.
 */
export function eventedBag(block: unknown): Bag | undefined {
  if ((typeof block !== 'object' && typeof block !== 'function') || block === null) {
    return undefined;
  }
  const events = (block as Bag).events as Bag | undefined;
  if (typeof events !== 'object' || events === null || !isFn(events.on)) return undefined;
  return block as Bag;
}
