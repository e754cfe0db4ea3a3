// Metrics and trace events of girder/sms: providers (sends by outcome and error code,
// with durations), tokenAuthSms (authorizations and refusals) and codeService (code
// sends and verifies by purpose and outcome). The queue's mapping is in watch-sms-queue.
import {
  type Attributes,
  context,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { EventSource } from '../core/index.js';
import type { CodeServiceEvents, SmsEvents, TokenAuthSmsEvents } from '../sms/index.js';
import type { HistogramCell } from './histogram.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { eventedBag } from './shape.js';

/** @internal Map an SMS provider's events to `<prefix>sms_sends_total` and `<prefix>sms_send_duration_seconds`. */
export function watchSmsProvider(scope: Scope, events: EventSource<SmsEvents>): () => void {
  const sends = cellsBy(
    scope.counter(
      'sms_sends_total',
      'SMS sends, by outcome (sent, failed) and error code (OK when sent).',
      ['outcome', 'code'],
    ),
  );
  const duration = scope.histogram(
    'sms_send_duration_seconds',
    'Duration of each SMS send, seconds, by outcome.',
    ['outcome'],
  );
  const sentCell = duration.cell(scope.labels({ outcome: 'sent' }));
  const failedCell: HistogramCell = duration.cell(scope.labels({ outcome: 'failed' }));
  const sent = sends('sent', () => ({ outcome: 'sent', code: 'OK' }));
  return subscribe(events, {
    sent: (e: SmsEvents['sent']) => {
      sent.value++;
      duration.observe(sentCell, e.durationMs / 1000);
    },
    failed: (e: SmsEvents['failed']) => {
      sends(`failed/${e.code}`, () => ({ outcome: 'failed', code: e.code })).value++;
      duration.observe(failedCell, e.durationMs / 1000);
    },
  });
}

/** @internal Map tokenAuthSms events to `<prefix>sms_auth_total`. */
export function watchSmsTokenAuth(
  scope: Scope,
  events: EventSource<TokenAuthSmsEvents>,
): () => void {
  const outcomes = cellsBy(
    scope.counter(
      'sms_auth_total',
      'SMS sends checked by a token, by outcome (authorized, missing, invalid, forbidden).',
      ['outcome'],
    ),
  );
  const authorized = outcomes('authorized', () => ({ outcome: 'authorized' }));
  return subscribe(events, {
    authorized: () => {
      authorized.value++;
    },
    refused: (e: TokenAuthSmsEvents['refused']) => {
      outcomes(e.reason, () => ({ outcome: e.reason })).value++;
    },
  });
}

/** @internal Map codeService events to `<prefix>sms_code_events_total` and `<prefix>sms_code_duration_seconds`. */
export function watchCodes(scope: Scope, events: EventSource<CodeServiceEvents>): () => void {
  const counts = cellsBy(
    scope.counter(
      'sms_code_events_total',
      'Verification code operations, by operation (send, verify), purpose and outcome (sent, verified, too_frequent, send_failed, invalid, expired, attempts_exceeded).',
      ['operation', 'purpose', 'outcome'],
    ),
  );
  const duration = scope.histogram(
    'sms_code_duration_seconds',
    'Duration of each code send or verify, seconds, by operation.',
    ['operation'],
  );
  const sendCell = duration.cell(scope.labels({ operation: 'send' }));
  const verifyCell = duration.cell(scope.labels({ operation: 'verify' }));
  return subscribe(events, {
    sent: (e: CodeServiceEvents['sent']) => {
      counts(`send/${e.purpose}/sent`, () => ({
        operation: 'send',
        purpose: e.purpose,
        outcome: 'sent',
      })).value++;
      duration.observe(sendCell, e.durationMs / 1000);
    },
    verified: (e: CodeServiceEvents['verified']) => {
      counts(`verify/${e.purpose}/verified`, () => ({
        operation: 'verify',
        purpose: e.purpose,
        outcome: 'verified',
      })).value++;
      duration.observe(verifyCell, e.durationMs / 1000);
    },
    failed: (e: CodeServiceEvents['failed']) => {
      counts(`${e.operation}/${e.purpose}/${e.reason}`, () => ({
        operation: e.operation,
        purpose: e.purpose,
        outcome: e.reason,
      })).value++;
      duration.observe(e.operation === 'send' ? sendCell : verifyCell, e.durationMs / 1000);
    },
  });
}

/** The SMS kinds of `kindOf`. @internal */
export type SmsBlockKind = 'smsProvider' | 'smsTokenAuth' | 'codes';

/** @internal Which SMS block `b` is, by shape, or undefined. */
export function smsKindOf(block: unknown): SmsBlockKind | undefined {
  const b = eventedBag(block);
  if (b === undefined || typeof b.send !== 'function') return undefined;
  if (typeof b.verify === 'function') return 'codes';
  if (typeof b.claim === 'string') return 'smsTokenAuth';
  if (typeof b.kind === 'string' && typeof b.name === 'string') return 'smsProvider';
  return undefined;
}

/** @internal Start the metrics mapping of an SMS block. */
export function watchSms(scope: Scope, kind: SmsBlockKind, events: EventSource<never>): () => void {
  switch (kind) {
    case 'smsProvider':
      return watchSmsProvider(scope, events as EventSource<SmsEvents>);
    case 'smsTokenAuth':
      return watchSmsTokenAuth(scope, events as EventSource<TokenAuthSmsEvents>);
    default:
      return watchCodes(scope, events as EventSource<CodeServiceEvents>);
  }
}

const event = (name: string, attributes: Attributes): void => {
  trace.getActiveSpan()?.addEvent(name, attributes);
};

/**
 * @internal Trace an SMS block: a `girder.sms.send` span per provider send (child of the
 * caller's span, error status when it failed); events on the caller's span for token
 * refusals and code failures.
 */
export function traceSms(
  tracer: Tracer,
  kind: SmsBlockKind,
  events: EventSource<never>,
  name: string,
): () => void {
  const named = { 'girder.name': name };
  switch (kind) {
    case 'smsProvider': {
      const sendSpan = (e: SmsEvents['sent'], failure?: SmsEvents['failed']) => {
        const endTime = performance.timeOrigin + performance.now();
        const attributes: Attributes = {
          ...named,
          'girder.sms.provider': e.provider,
          'girder.sms.template': e.template,
          'girder.sms.recipients': e.recipients,
          'girder.sms.request_id': e.requestId,
        };
        if (failure !== undefined) {
          attributes['girder.sms.code'] = failure.code;
          attributes['girder.sms.retryable'] = failure.retryable;
        }
        const span = tracer.startSpan(
          'girder.sms.send',
          { kind: SpanKind.CLIENT, startTime: endTime - e.durationMs, attributes },
          context.active(),
        );
        if (failure !== undefined) {
          if (failure.error instanceof Error) span.recordException(failure.error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: failure.code });
        }
        span.end(endTime);
      };
      return subscribe(events as EventSource<SmsEvents>, {
        sent: (e: SmsEvents['sent']) => sendSpan(e),
        failed: (e: SmsEvents['failed']) => sendSpan(e, e),
      });
    }
    case 'smsTokenAuth':
      return subscribe(events as EventSource<TokenAuthSmsEvents>, {
        refused: (e: TokenAuthSmsEvents['refused']) =>
          event('girder.sms.auth_refused', {
            ...named,
            'girder.sms.reason': e.reason,
            'girder.sms.template': e.template,
          }),
      });
    default:
      return subscribe(events as EventSource<CodeServiceEvents>, {
        failed: (e: CodeServiceEvents['failed']) =>
          event('girder.sms.code_failed', {
            ...named,
            'girder.sms.operation': e.operation,
            'girder.sms.purpose': e.purpose,
            'girder.sms.reason': e.reason,
          }),
      });
  }
}
