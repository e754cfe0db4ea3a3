// Pieces every picker factory shares: the `name` option schema and the `updated` event.
import { z } from 'zod';
import type { TypedEmitter } from '../core/index.js';
import type { PickerEvents } from './types.js';

/** @internal */
export const nameSchema = z.string().min(1).optional();

/** Emits `updated` after a table replacement described by `from` (old slot per new slot). @internal */
export function emitUpdated(
  events: TypedEmitter<PickerEvents>,
  name: string | undefined,
  from: Int32Array,
  previous: number,
): void {
  if (!events.has('updated')) return;
  let kept = 0;
  for (let i = 0; i < from.length; i++) if ((from[i] as number) >= 0) kept++;
  events.emit('updated', {
    name,
    instances: from.length,
    added: from.length - kept,
    removed: previous - kept,
  });
}
