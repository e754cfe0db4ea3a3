import { describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from '../../src/core/index.js';

type Events = { hit: { key: string }; reset: undefined };

describe('TypedEmitter', () => {
  it('delivers payloads in subscription order and unsubscribes', () => {
    const e = new TypedEmitter<Events>();
    const seen: string[] = [];
    const offA = e.on('hit', ({ key }) => seen.push(`a:${key}`));
    e.on('hit', ({ key }) => seen.push(`b:${key}`));
    e.emit('hit', { key: 'x' });
    offA();
    e.emit('hit', { key: 'y' });
    expect(seen).toEqual(['a:x', 'b:x', 'b:y']);
    expect(e.listenerCount('hit')).toBe(1);
  });

  it('once fires a single time; off ignores unknown listeners', () => {
    const e = new TypedEmitter<Events>();
    const fn = vi.fn();
    e.once('reset', fn);
    e.emit('reset', undefined);
    e.emit('reset', undefined);
    expect(fn).toHaveBeenCalledTimes(1);
    e.off('reset', () => {});
    e.off('hit', () => {});
    expect(e.has('reset')).toBe(false);
  });

  it('a listener removing itself during emit does not skip others', () => {
    const e = new TypedEmitter<Events>();
    const seen: string[] = [];
    const off = e.on('hit', () => {
      seen.push('first');
      off();
    });
    e.on('hit', () => seen.push('second'));
    e.emit('hit', { key: 'k' });
    expect(seen).toEqual(['first', 'second']);
  });

  it('a throwing listener is reported and does not stop the others or the emitter', () => {
    const errors: Array<[unknown, string]> = [];
    const e = new TypedEmitter<Events>({ onListenerError: (err, ev) => errors.push([err, ev]) });
    const after = vi.fn();
    const boom = new Error('listener bug');
    e.on('hit', () => {
      throw boom;
    });
    e.on('hit', after);
    expect(() => e.emit('hit', { key: 'k' })).not.toThrow();
    expect(after).toHaveBeenCalledOnce();
    expect(errors).toEqual([[boom, 'hit']]);
  });

  it('by default reports listener errors as process warnings', async () => {
    const e = new TypedEmitter<Events>();
    e.on('reset', () => {
      throw new Error('oops');
    });
    const warning = new Promise<Error>((resolve) => process.once('warning', resolve));
    e.emit('reset', undefined);
    const w = await warning;
    expect(w.name).toBe('GirderListenerWarning');
    expect(w.message).toContain('"reset"');
  });

  it('removeAll clears one event or all', () => {
    const e = new TypedEmitter<Events>();
    e.on('hit', () => {});
    e.on('reset', () => {});
    e.removeAll('hit');
    expect(e.has('hit')).toBe(false);
    expect(e.has('reset')).toBe(true);
    e.removeAll();
    expect(e.has('reset')).toBe(false);
  });
});
