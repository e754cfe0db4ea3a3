import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/index.js';
import { InvalidPhoneError, isE164, validateMessage } from '../../src/sms/index.js';

const ok = { to: ['+8613800000000'], template: 'login', params: { code: '123456' } };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('validateMessage', () => {
  it('fills in a requestId and keeps the caller one', () => {
    const a = validateMessage(ok);
    const b = validateMessage(ok);
    expect(a.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.requestId).not.toBe(b.requestId);
    expect(validateMessage({ ...ok, requestId: 'r-1' }).requestId).toBe('r-1');
    expect(validateMessage({ to: ['+12025550123'], template: 't' }).params).toEqual({});
  });

  it('accepts text outside the BMP (paired surrogates)', () => {
    expect(validateMessage({ ...ok, params: { name: '😀 商城' } }).params.name).toBe('😀 商城');
  });

  it('does not change the caller object', () => {
    const message = { ...ok };
    validateMessage(message);
    expect(message).toEqual(ok);
    expect('requestId' in message).toBe(false);
  });

  it.each([
    ['13800000000'],
    ['+0861380000'],
    ['+1'],
    ['+1234567890123456'],
    ['+86 138 0000 0000'],
    [''],
  ])('refuses %j with INVALID_PHONE naming its index', (phone) => {
    let error: unknown;
    try {
      validateMessage({ ...ok, to: ['+12025550123', phone] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidPhoneError);
    expect((error as InvalidPhoneError).code).toBe('INVALID_PHONE');
    expect((error as InvalidPhoneError).index).toBe(1);
    expect((error as InvalidPhoneError).phone).toBe(phone);
  });

  it('refuses a non-string recipient with INVALID_PHONE', () => {
    expect(codeOf(() => validateMessage({ ...ok, to: [42 as unknown as string] }))).toBe(
      'INVALID_PHONE',
    );
  });

  it.each([
    ['no message', null],
    ['empty to', { ...ok, to: [] }],
    ['to not an array', { ...ok, to: '+8613800000000' }],
    ['empty template', { ...ok, template: '' }],
    ['blank template', { ...ok, template: '   ' }],
    ['params not an object', { ...ok, params: 'x' }],
    ['params an array', { ...ok, params: ['x'] }],
    ['a param not a string', { ...ok, params: { code: 123456 } }],
    ['empty signName', { ...ok, signName: '' }],
    ['empty requestId', { ...ok, requestId: '' }],
    ['long requestId', { ...ok, requestId: 'x'.repeat(129) }],
    ['a lone surrogate in a param', { ...ok, params: { code: 'a\uD800' } }],
    ['a lone surrogate in the template', { ...ok, template: '\uDC00x' }],
  ])('refuses %s with INVALID_ARGUMENT', (_label, message) => {
    expect(codeOf(() => validateMessage(message as never))).toBe('INVALID_ARGUMENT');
  });

  describe('with declared templates', () => {
    const templates = { login: ['code'], welcome: [] };
    it('accepts exactly the declared params', () => {
      expect(validateMessage(ok, { templates }).params).toEqual({ code: '123456' });
      expect(
        validateMessage({ ...ok, template: 'welcome', params: {} }, { templates }).params,
      ).toEqual({});
    });
    it('refuses an unknown param, a missing one and an unknown template', () => {
      const unknown = () =>
        validateMessage({ ...ok, params: { code: '1', extra: 'x' } }, { templates });
      expect(unknown).toThrow(InvalidArgumentError);
      expect(unknown).toThrow(/params\.extra/);
      const missing = () => validateMessage({ ...ok, params: {} }, { templates });
      expect(missing).toThrow(/params\.code/);
      expect(codeOf(() => validateMessage({ ...ok, template: 'nope' }, { templates }))).toBe(
        'INVALID_ARGUMENT',
      );
      // inherited names are not templates
      expect(codeOf(() => validateMessage({ ...ok, template: 'toString' }, { templates }))).toBe(
        'INVALID_ARGUMENT',
      );
    });
  });

  it('isE164 agrees with a plain definition on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const digits = s.slice(1);
        const expected =
          s.startsWith('+') &&
          digits.length >= 2 &&
          digits.length <= 15 &&
          [...digits].every((c) => c >= '0' && c <= '9') &&
          digits[0] !== '0';
        expect(isE164(s)).toBe(expected);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^\+[1-9][0-9]{1,14}$/), (phone) => {
        expect(isE164(phone)).toBe(true);
      }),
    );
  });
});
