// The consumer engine every backend shares. A backend only supplies a ConsumerSource
// (fetch, ack, release); this loop does batching, per-key lanes, retries with backoff,
// dead letters, acknowledgement after success and the graceful stop.
//
// Per-key order: `concurrency` lanes run one batch at a time each; a message with a key
// always goes to the lane of its key's hash, so one key's messages are never handled
// concurrently nor out of fetch order. Keyless messages go to the least loaded lane.
import { getEventListeners } from 'node:events';
import { type Clock, sleep, type TimerHandle, type TypedEmitter } from '../core/index.js';
import type { ParsedConsumeOptions } from './consume-options.js';
import { deadLetterOf } from './dead-letter.js';
import type { Delivery } from './message.js';
import type { BatchHandler, OutgoingMessage, QueueEvents, Subscription } from './types.js';

/** @internal What a backend gives the consumer loop for one subscription. */
export interface ConsumerSource {
  /**
   * Up to `max` messages for this member: redeliveries first, then new ones. May wait for
   * messages (the backend's block time) and resolves `[]` when none came; must settle
   * promptly once `signal` aborts.
   */
  fetch(max: number, signal: AbortSignal): Promise<Delivery[]>;
  /** Acknowledge handled messages: the group will not see them again. */
  ack(messages: readonly Delivery[]): Promise<void>;
  /**
   * This member gives up on the messages for now (attempts spent without a dead-letter
   * topic, or stopped before handling them): they stay unacknowledged and come back
   * later (memory and Redis: claimable after `claimIdleMs`; Kafka: after a re-seek).
   */
  release(messages: readonly Delivery[]): Promise<void>;
  /**
   * Tell the backend this member still holds these messages (handling, waiting in a lane
   * or in a retry backoff), so they are not handed to another member as idle. Called
   * every `touchIntervalMs` while any are held.
   */
  touch?(messages: readonly Delivery[]): Promise<void>;
  /** How often to `touch` held messages, ms (a fraction of the backend's claim idle time). */
  readonly touchIntervalMs?: number;
  /** Called once after the drain: release connections. */
  close(): Promise<void>;
}

/** @internal What the loop needs from its queue. */
export interface LoopContext {
  readonly topic: string;
  readonly clock: Clock;
  readonly events: TypedEmitter<QueueEvents>;
  /** Publish dead letters (the queue's own producer). */
  readonly send: (topic: string, messages: readonly OutgoingMessage[]) => Promise<void>;
  /** Pause after a failed fetch before fetching again, ms. */
  readonly fetchErrorDelayMs: number;
  /** Called when the subscription has fully stopped. */
  readonly onStopped: (loop: ConsumerLoop) => void;
}

interface Lane {
  readonly queue: Delivery[];
  running: boolean;
  /** The batch being handled (or retried), until it settles. */
  batch: Delivery[] | undefined;
  /**
   * The controller of the handler signal: a drain timeout aborts it. Kept for the
   * lane's next attempt while no handler left a listener on it (see `#signalFor`).
   */
  controller: AbortController | undefined;
  timer: TimerHandle | undefined;
}

const noop = () => {};

/** FNV-1a, for spreading keys over lanes. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** @internal One running subscription. */
export class ConsumerLoop implements Subscription {
  readonly topic: string;
  readonly group: string;
  readonly #source: ConsumerSource;
  readonly #handler: BatchHandler;
  readonly #o: ParsedConsumeOptions;
  readonly #ctx: LoopContext;
  readonly #lanes: Lane[];
  readonly #capacity: number;
  /** Fetched and not yet settled (queued in lanes or in a running batch). */
  #buffered = 0;
  #stopping = false;
  /** Aborted by stop(): ends fetching and retry waits. */
  readonly #stopAbort = new AbortController();
  /** Aborted when the drain timeout passes: aborts handler signals. */
  readonly #drainAbort = new AbortController();
  /** Set once stop() gave up on in-flight batches: their outcome is ignored. */
  #abandoned = false;
  #fetchDone: Promise<void> = Promise.resolve();
  #stopped: Promise<void> | undefined;
  /** Set at the end of stop(): no more touches. */
  #finished = false;
  #waiters: (() => void)[] = [];
  #offSignal = noop;
  #touchTimer: TimerHandle | undefined;

  constructor(
    source: ConsumerSource,
    handler: BatchHandler,
    options: ParsedConsumeOptions,
    ctx: LoopContext,
  ) {
    this.topic = ctx.topic;
    this.group = options.group;
    this.#source = source;
    this.#handler = handler;
    this.#o = options;
    this.#ctx = ctx;
    this.#lanes = Array.from({ length: options.concurrency }, () => ({
      queue: [],
      running: false,
      batch: undefined,
      controller: undefined,
      timer: undefined,
    }));
    // Enough prefetch to fill every lane's next batch while the current one runs.
    this.#capacity = options.batchSize * options.concurrency * 2;
  }

  /** Start fetching. */
  start(): void {
    const signal = this.#o.signal;
    if (signal !== undefined) {
      const onAbort = () => void this.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#offSignal = () => signal.removeEventListener('abort', onAbort);
    }
    this.#fetchDone = this.#fetchLoop();
    this.#armTouch();
  }

  /** Keep held messages from looking idle to other members (see ConsumerSource.touch). */
  #armTouch(): void {
    const source = this.#source;
    const every = source.touchIntervalMs;
    if (source.touch === undefined || every === undefined) return;
    this.#touchTimer = this.#ctx.clock.setTimeout(() => {
      this.#touchTimer = undefined;
      // Once stop() gave up on its batches, they must look idle so others take them.
      if (this.#finished || this.#abandoned) return;
      const held = this.#heldMessages();
      if (held.length > 0) {
        source.touch!(held).catch((error: unknown) => this.#emitError(error));
      }
      this.#armTouch();
    }, every);
  }

  /** Fetched and not yet settled: queued in a lane or in a running batch. */
  #heldMessages(): Delivery[] {
    const held: Delivery[] = [];
    for (const lane of this.#lanes) {
      if (lane.batch !== undefined) held.push(...lane.batch);
      held.push(...lane.queue);
    }
    return held;
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #fetchLoop(): Promise<void> {
    const stop = this.#stopAbort.signal;
    while (!this.#stopping) {
      const room = this.#capacity - this.#buffered;
      if (room <= 0) {
        await this.#progress();
        continue;
      }
      let got: Delivery[];
      try {
        got = await this.#source.fetch(room, stop);
      } catch (error) {
        if (this.#stopping) break;
        this.#emitError(error);
        await sleep(this.#ctx.fetchErrorDelayMs, { clock: this.#ctx.clock, signal: stop }).catch(
          noop,
        );
        continue;
      }
      // Messages fetched while stopping are ours too: the drain handles them.
      this.#accept(got);
    }
  }

  #accept(messages: readonly Delivery[]): void {
    if (messages.length === 0) return;
    this.#buffered += messages.length;
    if (this.#lanes.length === 1) {
      const lane = this.#lanes[0]!;
      for (const m of messages) lane.queue.push(m);
      this.#kick(lane);
      return;
    }
    const touched = new Set<Lane>();
    for (const m of messages) {
      const lane = this.#laneFor(m);
      lane.queue.push(m);
      touched.add(lane);
    }
    for (const lane of touched) this.#kick(lane);
  }

  #laneFor(message: Delivery): Lane {
    const lanes = this.#lanes;
    if (lanes.length === 1) return lanes[0]!;
    if (message.key !== undefined) return lanes[hashKey(message.key) % lanes.length]!;
    let best = lanes[0]!;
    for (const lane of lanes) {
      const load = lane.queue.length + (lane.running ? this.#o.batchSize : 0);
      if (load < best.queue.length + (best.running ? this.#o.batchSize : 0)) best = lane;
    }
    return best;
  }

  /** Run the lane's next batch now if it is full (or waiting is off), else arm its wait. */
  #kick(lane: Lane): void {
    if (lane.running || lane.queue.length === 0 || this.#abandoned) return;
    const { batchSize, waitMs } = this.#o;
    if (lane.queue.length >= batchSize || waitMs === 0 || this.#stopping) {
      if (lane.timer !== undefined) this.#ctx.clock.clearTimeout(lane.timer);
      lane.timer = undefined;
      void this.#run(lane);
      return;
    }
    lane.timer ??= this.#ctx.clock.setTimeout(() => {
      lane.timer = undefined;
      if (!lane.running) void this.#run(lane);
    }, waitMs);
  }

  async #run(lane: Lane): Promise<void> {
    lane.running = true;
    const batch =
      lane.queue.length === 1 ? [lane.queue.pop()!] : lane.queue.splice(0, this.#o.batchSize);
    lane.batch = batch;
    try {
      await this.#process(lane, batch);
    } finally {
      this.#buffered -= batch.length;
      lane.batch = undefined;
      lane.running = false;
      // Messages that arrived during the batch have waited already: run them at once.
      if (!this.#abandoned && lane.queue.length > 0) {
        if (lane.timer !== undefined) this.#ctx.clock.clearTimeout(lane.timer);
        lane.timer = undefined;
        void this.#run(lane);
      }
      this.#notify();
    }
  }

  /**
   * The lane's handler signal controller. Building an AbortController costs more than
   * the rest of a batch's bookkeeping, so one serves the lane's attempts until a
   * handler leaves a listener on its signal.
   */
  #signalFor(lane: Lane): AbortController {
    lane.controller ??= new AbortController();
    return lane.controller;
  }

  async #process(lane: Lane, batch: Delivery[]): Promise<void> {
    const { topic, group } = this;
    const { events, clock } = this.#ctx;
    const o = this.#o;
    let current = batch;
    let previousDelay = 0;
    if (events.has('consumed')) events.emit('consumed', { topic, group, count: current.length });
    for (;;) {
      if (this.#drainAbort.signal.aborted) return;
      // Kept on the lane for a drain timeout to abort: cheaper than an EventTarget
      // listener on the drain signal per attempt.
      const controller = this.#signalFor(lane);
      const started = clock.now();
      let failure: { error: unknown } | undefined;
      try {
        await this.#handler(current, controller.signal);
      } catch (error) {
        failure = { error };
      } finally {
        // A handler that left a listener on its signal gets a fresh one next time, so
        // listeners never pile up on a signal that outlives their batch.
        if (getEventListeners(controller.signal, 'abort').length > 0) lane.controller = undefined;
      }
      if (this.#abandoned) return; // stop() gave up on this batch: it stays unacknowledged
      const durationMs = clock.now() - started;
      if (failure === undefined) {
        if (events.has('processed')) {
          events.emit('processed', { topic, group, count: current.length, durationMs });
        }
        await this.#ack(current);
        return;
      }
      const { error } = failure;
      events.emit('failed', { topic, group, count: current.length, durationMs, error });
      const spent: Delivery[] = [];
      const again: Delivery[] = [];
      for (const m of current) (m.attempt >= o.maxAttempts ? spent : again).push(m);
      if (spent.length > 0) await this.#giveUp(spent, error);
      if (again.length === 0) return;
      if (this.#stopping) {
        // No retry waits during a stop: another member (or a restart) tries again.
        await this.#release(again);
        return;
      }
      let attempt = 0;
      for (const m of again) attempt = Math.max(attempt, m.attempt);
      const delayMs = Math.max(0, o.backoff.delayMs(attempt, previousDelay));
      previousDelay = delayMs;
      events.emit('retried', { topic, group, count: again.length, attempt: attempt + 1, delayMs });
      try {
        await sleep(delayMs, { clock, signal: this.#stopAbort.signal });
      } catch {
        await this.#release(again);
        return;
      }
      for (const m of again) m.attempt++;
      current = again;
    }
  }

  /** Attempts spent: dead-letter then acknowledge, or leave pending when there is no DLQ. */
  async #giveUp(spent: Delivery[], error: unknown): Promise<void> {
    const deadLetter = this.#o.deadLetter;
    if (deadLetter === undefined) {
      await this.#release(spent);
      return;
    }
    const now = this.#ctx.clock.now();
    try {
      await this.#ctx.send(
        deadLetter,
        spent.map((m) => deadLetterOf(m, this.group, error, now)),
      );
    } catch (sendError) {
      this.#emitError(sendError);
      await this.#release(spent);
      return;
    }
    this.#ctx.events.emit('deadLettered', {
      topic: this.topic,
      group: this.group,
      count: spent.length,
      deadLetter,
      error,
    });
    await this.#ack(spent);
  }

  async #ack(messages: readonly Delivery[]): Promise<void> {
    try {
      await this.#source.ack(messages);
    } catch (error) {
      // Unacknowledged means redelivered later: at least once still holds.
      this.#emitError(error);
    }
  }

  async #release(messages: readonly Delivery[]): Promise<void> {
    try {
      await this.#source.release(messages);
    } catch (error) {
      this.#emitError(error);
    }
  }

  #emitError(error: unknown): void {
    this.#ctx.events.emit('error', { topic: this.topic, group: this.group, error });
  }

  /** Resolves at the next batch completion (or stop). */
  #progress(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  async #whenDrained(): Promise<void> {
    while (this.#buffered > 0) await this.#progress();
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#offSignal();
    this.#stopAbort.abort();
    this.#notify();
    await this.#fetchDone;
    for (const lane of this.#lanes) this.#kick(lane);
    const { clock } = this.#ctx;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = clock.setTimeout(() => resolve('timeout'), this.#o.drainTimeoutMs);
    });
    const outcome = await Promise.race([
      this.#whenDrained().then(() => 'drained' as const),
      timedOut,
    ]);
    if (timer !== undefined) clock.clearTimeout(timer);
    if (outcome === 'timeout') {
      // Handlers get their abort; whatever they do next is ignored and their messages
      // stay unacknowledged, so another member or a restart handles them again.
      this.#abandoned = true;
      const reason = new Error('consumer stopped: drain timeout passed');
      this.#drainAbort.abort(reason);
      for (const lane of this.#lanes) lane.controller?.abort(reason);
      const unstarted: Delivery[] = [];
      for (const lane of this.#lanes) {
        if (lane.timer !== undefined) clock.clearTimeout(lane.timer);
        unstarted.push(...lane.queue.splice(0));
      }
      if (unstarted.length > 0) await this.#release(unstarted);
    }
    this.#finished = true;
    if (this.#touchTimer !== undefined) clock.clearTimeout(this.#touchTimer);
    this.#touchTimer = undefined;
    try {
      await this.#source.close();
    } catch (error) {
      this.#emitError(error);
    }
    this.#ctx.onStopped(this);
  }
}
