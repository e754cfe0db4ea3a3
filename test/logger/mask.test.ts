import { describe, expect, it } from 'vitest';
import { maskEmail, maskPhone } from '../../src/logger/index.js';

describe('maskPhone', () => {
  it.each([
    ['13812345678', '138****5678'],
    ['+8613812345678', '+86138****5678'],
    ['+86 138 1234 5678', '+86 138 **** 5678'],
    ['138-1234-5678', '138-****-5678'],
    ['+14155552671', '+1415***2671'],
    ['+1 (415) 555-2671', '+1 (415) ***-2671'],
    ['+447911123456', '+44791***3456'],
    ['+353871234567', '+353871**4567'],
    ['  13812345678 ', '138****5678'],
    ['12345678', '123*5678'],
  ])('%s -> %s', (input, expected) => {
    expect(maskPhone(input)).toBe(expected);
  });

  it.each([
    ['short', '1234567'],
    ['short after the country code', '+861234567'],
    ['not a phone number', 'call me maybe'],
    ['digits mixed with letters', '138abc45678'],
    ['empty', ''],
  ])('masks fully when %s', (_case, input) => {
    expect(maskPhone(input)).toBe('[REDACTED]');
    expect(maskPhone(input, '#')).toBe('#');
  });
});

describe('maskEmail', () => {
  it('keeps the first character and the domain', () => {
    expect(maskEmail('alice@example.com')).toBe('a***@example.com');
    expect(maskEmail('a@example.com')).toBe('a***@example.com');
  });

  it('does not reveal the length of the local part', () => {
    expect(maskEmail('bo@x.io')).toBe('b***@x.io');
    expect(maskEmail('bartholomew@x.io')).toBe('b***@x.io');
  });

  it('masks fully values that are not addresses', () => {
    expect(maskEmail('no-at-sign')).toBe('[REDACTED]');
    expect(maskEmail('@example.com')).toBe('[REDACTED]');
    expect(maskEmail('alice@', '*')).toBe('*');
  });
});
