// The shop's two local SMS providers, stand-ins for real gateways (Aliyun, Tencent...).
// Each is a girder memorySms (it validates like a real provider, keeps what it sent for
// tests, and can be told to fail) that, in `console` mode, also prints every accepted
// message through consoleSms, so the code of an SMS login shows in the terminal.
import type { Logger } from 'girder/logger';
import {
  type CapturedSms,
  consoleSms,
  type MemorySms,
  memorySms,
  type SmsProvider,
} from 'girder/sms';

/** A mock provider the ops page can switch into failing. */
export interface MockSmsProvider extends SmsProvider {
  /** Messages this provider accepted, oldest first. */
  readonly sent: readonly CapturedSms[];
  /** Whether every send currently fails (a retryable provider error, as a 503 would be). */
  readonly failing: boolean;
  setFailing(failing: boolean): void;
}

export function mockSmsProvider(
  name: string,
  mode: 'console' | 'mock',
  logger: Logger,
): MockSmsProvider {
  const capture: MemorySms = memorySms({ name });
  const printer = mode === 'console' ? consoleSms(logger, { name }) : undefined;
  let failing = false;
  return {
    name,
    kind: 'mock',
    events: capture.events,
    get sent() {
      return capture.sent;
    },
    get failing() {
      return failing;
    },
    setFailing(value) {
      failing = value;
      // memorySms's own failure: a retryable SMS_PROVIDER_ERROR, as a gateway's 503 would be.
      if (value) capture.failAlways();
      else capture.recover();
    },
    async send(message, signal) {
      const result = await capture.send(message, signal);
      // Printing is the console's job only; it never fails a send that was accepted.
      await printer?.send(message, signal).catch(() => {});
      return result;
    },
  };
}
