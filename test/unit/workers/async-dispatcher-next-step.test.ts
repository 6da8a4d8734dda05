import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../../src/core/function-spec.js';
import {
  CALLBACK_TIMEOUT_ERROR,
  TIMEOUT_ERROR,
  nextStep,
  type AttemptOutcome,
} from '../../../src/workers/async-next-step.js';

const NOW = 1_000_000;
const POLICY: RetryPolicy = {
  httpTimeoutSeconds: 30,
  timeoutRetriesSeconds: [2, 4, 8],
  httpStatusRetries: [500, 502, 503],
};
const NO_RETRY: RetryPolicy = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [], httpStatusRetries: [500] };

/** Every outcome the retry rule treats as a retryable failure, with what the attempt records. */
const RETRYABLE: readonly [string, AttemptOutcome, { lastStatus?: number; lastError?: string }][] = [
  ['status 500', { kind: 'response', status: 500 }, { lastStatus: 500 }],
  ['status 502', { kind: 'response', status: 502 }, { lastStatus: 502 }],
  ['status 503', { kind: 'response', status: 503 }, { lastStatus: 503 }],
  ['a timeout', { kind: 'timeout' }, { lastError: TIMEOUT_ERROR }],
  ['a connection error', { kind: 'error', error: 'ECONNREFUSED' }, { lastError: 'ECONNREFUSED' }],
  ['a reset', { kind: 'error', error: 'UND_ERR_SOCKET' }, { lastError: 'UND_ERR_SOCKET' }],
  ['an expired callback window', { kind: 'callback-timeout' }, { lastError: CALLBACK_TIMEOUT_ERROR }],
  ['a failed callback (recorded as 500)', { kind: 'callback', succeeded: false }, { lastStatus: 500 }],
];

describe('nextStep (the async retry rule)', () => {
  it.each([200, 201, 204, 299, 301, 302, 304, 307, 399])('completes on status %i', (status) => {
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(nextStep({ kind: 'response', status }, attempt, POLICY, NOW)).toEqual({ kind: 'complete' });
    }
  });

  it('waits for a callback until HttpTimeout after a 202, on every attempt including the last', () => {
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(nextStep({ kind: 'response', status: 202 }, attempt, POLICY, NOW)).toEqual({
        kind: 'await-callback',
        untilMs: NOW + 30_000,
      });
    }
  });

  it('completes on a successful callback', () => {
    expect(nextStep({ kind: 'callback', succeeded: true }, 4, POLICY, NOW)).toEqual({ kind: 'complete' });
  });

  it.each([400, 401, 403, 404, 409, 422, 429, 501, 504, 599, 100, 0])(
    'dead-letters at once on the non-retryable status %i, whatever the attempt',
    (status) => {
      for (let attempt = 1; attempt <= 4; attempt++) {
        expect(nextStep({ kind: 'response', status }, attempt, POLICY, NOW)).toEqual({
          kind: 'dead',
          reason: 'non-retryable-status',
          end: { endedAtMs: NOW, lastStatus: status },
        });
      }
    },
  );

  it('retries a status only when it is listed: 504 becomes retryable when HttpStatusRetries has it', () => {
    const policy = { ...POLICY, httpStatusRetries: [504] };
    expect(nextStep({ kind: 'response', status: 504 }, 1, policy, NOW).kind).toBe('retry');
    expect(nextStep({ kind: 'response', status: 500 }, 1, policy, NOW).kind).toBe('dead');
  });

  it('dead-letters a failed callback at once when 500 is not retryable', () => {
    const policy = { ...POLICY, httpStatusRetries: [503] };
    expect(nextStep({ kind: 'callback', succeeded: false }, 1, policy, NOW)).toEqual({
      kind: 'dead',
      reason: 'non-retryable-status',
      end: { endedAtMs: NOW, lastStatus: 500 },
    });
  });

  describe.each(RETRYABLE)('after %s', (_label, outcome, end) => {
    it('retries after TimeoutRetries[attempt − 1] seconds while attempts remain', () => {
      expect(nextStep(outcome, 1, POLICY, NOW)).toEqual({
        kind: 'retry',
        notBeforeMs: NOW + 2_000,
        end: { endedAtMs: NOW, ...end },
      });
      expect(nextStep(outcome, 2, POLICY, NOW)).toMatchObject({ kind: 'retry', notBeforeMs: NOW + 4_000 });
      expect(nextStep(outcome, 3, POLICY, NOW)).toMatchObject({ kind: 'retry', notBeforeMs: NOW + 8_000 });
    });

    it('dead-letters on the last attempt (1 + len(TimeoutRetries)) with the last status or error', () => {
      expect(nextStep(outcome, 4, POLICY, NOW)).toEqual({
        kind: 'dead',
        reason: 'attempts-exhausted',
        end: { endedAtMs: NOW, ...end },
      });
    });

    it('dead-letters after the only attempt when TimeoutRetries is empty', () => {
      const policy = { ...NO_RETRY, httpStatusRetries: [500, 502, 503] };
      expect(nextStep(outcome, 1, policy, NOW)).toMatchObject({ kind: 'dead', reason: 'attempts-exhausted' });
    });
  });

  it('dead-letters an attempt number beyond the policy (a redelivery the store should not make)', () => {
    expect(nextStep({ kind: 'timeout' }, 7, POLICY, NOW)).toMatchObject({ kind: 'dead' });
    expect(nextStep({ kind: 'timeout' }, 0, POLICY, NOW)).toMatchObject({ kind: 'dead' });
  });

  it('supports fractional delays and timeouts (milliseconds are exact)', () => {
    const policy = { httpTimeoutSeconds: 0.25, timeoutRetriesSeconds: [0.5], httpStatusRetries: [500] };
    expect(nextStep({ kind: 'timeout' }, 1, policy, NOW)).toMatchObject({ notBeforeMs: NOW + 500 });
    expect(nextStep({ kind: 'response', status: 202 }, 1, policy, NOW)).toEqual({
      kind: 'await-callback',
      untilMs: NOW + 250,
    });
  });
});
