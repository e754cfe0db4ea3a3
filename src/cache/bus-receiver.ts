// Sequence tracking of bus messages per sender. Each sender numbers its messages 1, 2,
// 3...; a receiver that sees a number skip (or a first message above 1: it may have
// missed the earlier ones while its L1 was already filling) cannot know what it missed,
// so the only safe answer is to flush its whole L1. Numbering is never "resynced" after a
// flush: a message missed just after a reconnect must still show up as a gap, so a
// reconnect may cost a second flush when the first message after it skips.

/** @internal What one incoming message means for the receiver. */
export type Receipt = 'apply' | 'gap' | 'duplicate';

/** @internal */
export class SequenceTracker {
  readonly #last = new Map<string, number>();
  readonly #maxSenders: number;

  constructor(maxSenders = 10_000) {
    this.#maxSenders = maxSenders;
  }

  /** Record `seq` from `sender`; `gap` when messages were missed before it. */
  receive(sender: string, seq: number): Receipt {
    const last = this.#last.get(sender);
    if (last !== undefined && seq <= last) return 'duplicate';
    if (last !== undefined) this.#last.delete(sender); // re-insert: the map stays in recency order
    this.#last.set(sender, seq);
    if (this.#last.size > this.#maxSenders) {
      // Forget the longest-silent sender (instances come and go with restarts).
      const oldest = this.#last.keys().next().value as string;
      this.#last.delete(oldest);
    }
    return seq === (last ?? 0) + 1 ? 'apply' : 'gap';
  }
}
