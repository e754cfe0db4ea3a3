// One Redis Streams subscription: XAUTOCLAIM for messages a dead member left pending,
// then XREADGROUP BLOCK on a dedicated connection for new ones; XACK after success.
import {
  type Clock,
  classifyRedisError,
  type RedisClient,
  type RedisRunner,
  sleep,
} from '../core/index.js';
import type { ConsumerSource } from './consumer-loop.js';
import type { Delivery } from './message.js';
import { decodeEntry } from './streams-codec.js';

/** @internal The ioredis surface the Streams backend needs beyond RedisClient. */
export interface DuplicableClient extends RedisClient {
  /** A new connection with the same options (ioredis `duplicate()`). */
  duplicate(): DuplicableClient;
  /** Close the connection at once (blocked commands reject). */
  disconnect(): void;
  /** ioredis' event subscription (girder listens for `error` on the connections it opens). */
  on?(event: 'error', listener: (error: unknown) => void): unknown;
}

/** @internal Settings of one subscription. */
export interface StreamsSourceSettings {
  readonly topic: string;
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly claimIdleMs: number;
  readonly claimIntervalMs: number;
  readonly blockMs: number;
  readonly clock: Clock;
}

/** @internal Create the group (from the stream's start) unless it exists. */
export async function ensureGroup(runner: RedisRunner, stream: string, group: string) {
  // XGROUP CREATE is idempotent here (BUSYGROUP means done), so a redirect answered
  // while a Cluster's slot map settles (MOVED/ASK/TRYAGAIN) is simply tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      await runner.command('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM');
      return;
    } catch (error) {
      const text =
        error instanceof Error
          ? String((error as { cause?: unknown }).cause ?? error.message)
          : String(error);
      if (/BUSYGROUP/.test(text)) return;
      if (attempt < 5 && /\b(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/.test(text)) {
        await sleep(20 * attempt);
        continue;
      }
      throw error;
    }
  }
}

export class StreamsSource implements ConsumerSource {
  readonly #runner: RedisRunner;
  readonly #blocking: DuplicableClient;
  readonly #s: StreamsSourceSettings;
  #claimCursor = '0-0';
  #lastClaimAt = Number.NEGATIVE_INFINITY;
  // The stop signal fetch() was last given, already hooked to end a blocked read: the
  // loop passes the same one every time, so it is listened to once, not once per fetch.
  #hooked: AbortSignal | undefined;
  readonly #onAbort = () => this.#blocking.disconnect();

  constructor(runner: RedisRunner, blocking: DuplicableClient, settings: StreamsSourceSettings) {
    this.#runner = runner;
    this.#blocking = blocking;
    this.#s = settings;
  }

  async fetch(max: number, signal: AbortSignal): Promise<Delivery[]> {
    const s = this.#s;
    const now = s.clock.now();
    if (now - this.#lastClaimAt >= s.claimIntervalMs) {
      this.#lastClaimAt = now;
      const claimed = await this.#claim(max);
      if (claimed.length > 0) return claimed;
    }
    if (signal.aborted) return [];
    if (signal !== this.#hooked) {
      // Stop disconnects this dedicated connection, which ends the BLOCK at once (and
      // any later read: close() disconnects it anyway).
      this.#hooked?.removeEventListener('abort', this.#onAbort);
      signal.addEventListener('abort', this.#onAbort, { once: true });
      this.#hooked = signal;
    }
    let reply: unknown;
    try {
      reply = await this.#blocking.call(
        'XREADGROUP',
        'GROUP',
        s.group,
        s.consumer,
        'COUNT',
        max,
        'BLOCK',
        s.blockMs,
        'STREAMS',
        s.stream,
        '>',
      );
    } catch (error) {
      if (signal.aborted) return [];
      if (error instanceof Error && error.message.startsWith('NOGROUP')) {
        // The stream or group vanished (a Redis restart without persistence, a DEL):
        // recreate it and read on.
        await ensureGroup(this.#runner, s.stream, s.group);
        return [];
      }
      throw classifyRedisError(error);
    }
    if (!Array.isArray(reply) || reply.length === 0) return [];
    const entries = (reply[0] as [string, unknown[]])[1];
    const out: Delivery[] = [];
    for (const entry of entries) {
      const d = decodeEntry(s.topic, entry, 1);
      if (d !== undefined) out.push(d);
    }
    return out;
  }

  /** XAUTOCLAIM idle pending entries, with their delivery counts from XPENDING. */
  async #claim(max: number): Promise<Delivery[]> {
    const s = this.#s;
    const reply = (await this.#runner.command(
      'XAUTOCLAIM',
      s.stream,
      s.group,
      s.consumer,
      s.claimIdleMs,
      this.#claimCursor,
      'COUNT',
      max,
    )) as [string, unknown[], unknown[]?];
    this.#claimCursor = String(reply[0]);
    const entries = reply[1].filter((e) => Array.isArray(e) && Array.isArray(e[1]));
    const deleted = [...(reply[2] ?? [])].map(String);
    // Entries trimmed away while pending: nothing left to handle, drop them from the PEL.
    if (deleted.length > 0) await this.#runner.command('XACK', s.stream, s.group, ...deleted);
    if (entries.length === 0) return [];
    const first = String((entries[0] as unknown[])[0]);
    const last = String((entries[entries.length - 1] as unknown[])[0]);
    const pending = (await this.#runner.command(
      'XPENDING',
      s.stream,
      s.group,
      first,
      last,
      entries.length,
      s.consumer,
    )) as [string, string, number, number][];
    const counts = new Map(pending.map((p) => [String(p[0]), Number(p[3])]));
    const out: Delivery[] = [];
    for (const entry of entries) {
      const id = String((entry as unknown[])[0]);
      const d = decodeEntry(s.topic, entry, counts.get(id) ?? 2);
      if (d !== undefined) out.push(d);
    }
    return out;
  }

  async ack(messages: readonly Delivery[]): Promise<void> {
    if (messages.length === 0) return;
    const s = this.#s;
    if (messages.length === 1)
      await this.#runner.command('XACK', s.stream, s.group, messages[0]!.id);
    else await this.#runner.command('XACK', s.stream, s.group, ...messages.map((m) => m.id));
  }

  get touchIntervalMs(): number {
    return Math.max(1, Math.floor(this.#s.claimIdleMs / 3));
  }

  /** XCLAIM to ourselves with JUSTID: resets the entries' idle time, not their delivery count. */
  async touch(messages: readonly Delivery[]): Promise<void> {
    if (messages.length === 0) return;
    const s = this.#s;
    await this.#runner.command(
      'XCLAIM',
      s.stream,
      s.group,
      s.consumer,
      0,
      ...messages.map((m) => m.id),
      'JUSTID',
    );
  }

  async release(): Promise<void> {
    // Left in this consumer's pending list: XAUTOCLAIM hands them out after claimIdleMs.
  }

  async close(): Promise<void> {
    this.#hooked?.removeEventListener('abort', this.#onAbort);
    this.#hooked = undefined;
    this.#blocking.disconnect();
    const s = this.#s;
    // Forget this consumer name when it holds nothing, so XINFO CONSUMERS does not fill
    // up with the names of past processes. DELCONSUMER would drop its pending entries,
    // so it is skipped when there are any.
    try {
      const mine = (await this.#runner.command(
        'XPENDING',
        s.stream,
        s.group,
        '-',
        '+',
        1,
        s.consumer,
      )) as unknown[];
      if (mine.length === 0) {
        await this.#runner.command('XGROUP', 'DELCONSUMER', s.stream, s.group, s.consumer);
      }
    } catch {
      // Best effort: a leftover consumer name costs nothing but a line in XINFO.
    }
  }
}
