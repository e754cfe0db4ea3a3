import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/index.js';
import { noopLogger } from '../../src/logger/index.js';

describe('noopLogger', () => {
  it('accepts every call and reports every level as disabled', () => {
    const logger = noopLogger();
    expect(logger.info('x', { a: 1 })).toBeUndefined();
    expect(logger.error('x')).toBeUndefined();
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      expect(logger.isLevelEnabled(level)).toBe(false);
    }
  });

  it('returns itself as child and is one shared frozen instance', () => {
    const logger = noopLogger();
    expect(logger.child({ a: 1 })).toBe(logger);
    expect(noopLogger()).toBe(logger);
    expect(Object.isFrozen(logger)).toBe(true);
  });

  it('still rejects unknown levels', () => {
    expect(() => noopLogger().isLevelEnabled('loud' as never)).toThrow(InvalidArgumentError);
  });
});
