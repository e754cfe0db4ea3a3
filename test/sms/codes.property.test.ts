// The code state machine against a plain model: random sequences of sends, right and
// wrong guesses and time passing must answer exactly as the model says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { codeService, memoryCodeStore, memorySms } from '../../src/sms/index.js';

type Op = { kind: 'send' } | { kind: 'right' } | { kind: 'wrong' } | { kind: 'wait'; ms: number };

const TTL = 1_000;
const RESEND = 300;
const MAX = 3;

interface Model {
  code: string | undefined; // last code delivered
  live: boolean; // usable (not used, not burnt)
  burnt: boolean;
  sentAt: number;
  expiresAt: number;
  left: number;
  exists: boolean;
}

describe('codeService state machine (memory store)', () => {
  it('matches the model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.constant<Op>({ kind: 'send' }),
            fc.constant<Op>({ kind: 'right' }),
            fc.constant<Op>({ kind: 'wrong' }),
            fc.integer({ min: 1, max: 1_500 }).map((ms): Op => ({ kind: 'wait', ms })),
          ),
          { maxLength: 40 },
        ),
        async (ops) => {
          const clock = manualClock(0);
          const sms = memorySms();
          const codes = codeService({
            sms,
            store: memoryCodeStore({ clock }),
            template: 't',
            ttlMs: TTL,
            resendAfterMs: RESEND,
            maxAttempts: MAX,
            clock,
          });
          const m: Model = {
            code: undefined,
            live: false,
            burnt: false,
            sentAt: 0,
            expiresAt: 0,
            left: 0,
            exists: false,
          };
          const phone = '+8613800000000';
          for (const op of ops) {
            const now = clock.now();
            // records are forgotten after max(2 ttl, resend)
            if (m.exists && now >= m.sentAt + Math.max(2 * TTL, RESEND)) m.exists = false;
            if (op.kind === 'wait') {
              clock.advance(op.ms);
              continue;
            }
            if (op.kind === 'send') {
              const result = await codes.send(phone, 'login').then(
                () => 'sent',
                (e: { code: string }) => e.code,
              );
              if (m.exists && now - m.sentAt < RESEND) {
                expect(result).toBe('CODE_SEND_TOO_FREQUENT');
              } else {
                expect(result).toBe('sent');
                Object.assign(m, {
                  code: sms.last()?.message.params.code,
                  live: true,
                  burnt: false,
                  sentAt: now,
                  expiresAt: now + TTL,
                  left: MAX,
                  exists: true,
                });
              }
              continue;
            }
            const guess =
              op.kind === 'right' && m.code !== undefined
                ? m.code
                : String((Number(m.code ?? '0') + 1) % 1_000_000).padStart(6, '0');
            const result = await codes.verify(phone, 'login', guess).then(
              () => 'ok',
              (e: { code: string }) => e.code,
            );
            let expected: string;
            if (!m.exists) expected = 'CODE_INVALID';
            else if (m.burnt) expected = 'CODE_ATTEMPTS_EXCEEDED';
            else if (!m.live) expected = 'CODE_INVALID';
            else if (now >= m.expiresAt) expected = 'CODE_EXPIRED';
            else if (guess === m.code) {
              expected = 'ok';
              m.live = false;
            } else {
              m.left -= 1;
              if (m.left <= 0) {
                m.live = false;
                m.burnt = true;
                expected = 'CODE_ATTEMPTS_EXCEEDED';
              } else expected = 'CODE_INVALID';
            }
            expect(result).toBe(expected);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
