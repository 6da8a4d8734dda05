import type { RetryPolicy } from '../core/function-spec.js';
import { maxAttempts, type AttemptEnd } from '../core/state-store.js';

/** How one delivery attempt of an async request ended, as the dispatcher observed it. */
export type AttemptOutcome =
  /** The function answered: the status line arrived within HttpTimeout. */
  | { readonly kind: 'response'; readonly status: number }
  /** No answer started within HttpTimeout. */
  | { readonly kind: 'timeout' }
  /** The connection failed (refused, reset, closed early…); `error` is the transport's code. */
  | { readonly kind: 'error'; readonly error: string }
  /** Callback mode: the function reported its verdict on `/async-function-callback/…`. */
  | { readonly kind: 'callback'; readonly succeeded: boolean }
  /** Callback mode: no verdict within HttpTimeout of the `202`. */
  | { readonly kind: 'callback-timeout' };

/** What to do with the leased element after an outcome. */
export type NextStep =
  | { readonly kind: 'complete' }
  /** Keep the lease and wait for the callback until `untilMs`. */
  | { readonly kind: 'await-callback'; readonly untilMs: number }
  | { readonly kind: 'retry'; readonly notBeforeMs: number; readonly end: AttemptEnd }
  | {
      readonly kind: 'dead';
      /** `undecodable-request` is decided by the dispatcher before any attempt, never by `nextStep`. */
      readonly reason: 'non-retryable-status' | 'attempts-exhausted' | 'undecodable-request';
      readonly end: AttemptEnd;
    };

/** A step that ends the attempt (every step but waiting for a callback). */
export type FinalStep = Exclude<NextStep, { readonly kind: 'await-callback' }>;

/** `lastError` of an attempt that got no answer within HttpTimeout. */
export const TIMEOUT_ERROR = 'timeout';
/** `lastError` of a callback-mode attempt whose callback did not come within HttpTimeout of the `202`. */
export const CALLBACK_TIMEOUT_ERROR = 'callback-timeout';
/** The status recorded for a callback reporting failure (as SlimFaas does, reference §1.3). */
export const CALLBACK_FAILED_STATUS = 500;

/**
 * The retry rule of async requests (reference §4.3), with one consistent treatment of failures where SlimFaas
 * has several: a timeout, a connection error or a callback window that passed is retried exactly like a
 * status listed in `httpStatusRetries`.
 *
 * 1. `202` → callback mode: wait for the callback until `nowMs + HttpTimeout`.
 * 2. Any other 2xx or a 3xx (redirects are not followed) → complete.
 * 3. A callback reporting success → complete; reporting failure → status 500 (then rules 4–6).
 * 4. A status not listed in `httpStatusRetries` (4xx, 5xx, or anything else) → dead letter at once.
 * 5. A retryable failure on the last attempt (`attempt ≥ maxAttempts(policy)`) → dead letter.
 * 6. Otherwise retry, not before `nowMs + timeoutRetriesSeconds[attempt − 1]` (the delay before retry
 *    `attempt`); the element keeps its FIFO position.
 */
export function nextStep(
  outcome: Exclude<AttemptOutcome, { readonly kind: 'response' }>,
  attempt: number,
  policy: RetryPolicy,
  nowMs: number,
): FinalStep;
export function nextStep(
  outcome: AttemptOutcome,
  attempt: number,
  policy: RetryPolicy,
  nowMs: number,
): NextStep;
export function nextStep(
  outcome: AttemptOutcome,
  attempt: number,
  policy: RetryPolicy,
  nowMs: number,
): NextStep {
  let end: AttemptEnd;
  switch (outcome.kind) {
    case 'response':
      if (outcome.status === 202) {
        return { kind: 'await-callback', untilMs: nowMs + policy.httpTimeoutSeconds * 1000 };
      }
      if (outcome.status >= 200 && outcome.status < 400) return { kind: 'complete' };
      end = { endedAtMs: nowMs, lastStatus: outcome.status };
      break;
    case 'callback':
      if (outcome.succeeded) return { kind: 'complete' };
      end = { endedAtMs: nowMs, lastStatus: CALLBACK_FAILED_STATUS };
      break;
    case 'timeout':
      end = { endedAtMs: nowMs, lastError: TIMEOUT_ERROR };
      break;
    case 'callback-timeout':
      end = { endedAtMs: nowMs, lastError: CALLBACK_TIMEOUT_ERROR };
      break;
    case 'error':
      end = { endedAtMs: nowMs, lastError: outcome.error };
      break;
  }
  if (end.lastStatus !== undefined && !policy.httpStatusRetries.includes(end.lastStatus)) {
    return { kind: 'dead', reason: 'non-retryable-status', end };
  }
  const delaySeconds = policy.timeoutRetriesSeconds[attempt - 1];
  if (attempt >= maxAttempts(policy) || delaySeconds === undefined) {
    return { kind: 'dead', reason: 'attempts-exhausted', end };
  }
  return { kind: 'retry', notBeforeMs: nowMs + delaySeconds * 1000, end };
}
