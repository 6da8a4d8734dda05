import { SlimFaasError } from '../../core/errors.js';
import type { QueueElement } from '../../core/state-store.js';
import { QUEUE_NAME_PATTERN } from './nats-resources.js';

/** Argument checks shared by the NATS store's operations; each failure is a `bad_request`. */
export function checkQueue(queue: unknown): void {
  if (typeof queue !== 'string' || !QUEUE_NAME_PATTERN.test(queue)) {
    throw new SlimFaasError('bad_request', 'queue must match [A-Za-z0-9_-]{1,200} (a NATS subject token)');
  }
}

export function checkText(name: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new SlimFaasError('bad_request', `${name} must be a non-empty string`);
  }
}

export function checkTime(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new SlimFaasError('bad_request', `${name} must be a finite number ≥ 0`);
  }
}

export function checkPositiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new SlimFaasError('bad_request', `${name} must be an integer ≥ 1`);
  }
}

export function checkElement(element: QueueElement): void {
  checkText('element.id', element.id);
  checkTime('element.enqueuedAtMs', element.enqueuedAtMs);
  if (!(element.payload instanceof Uint8Array)) {
    throw new SlimFaasError('bad_request', 'element.payload must be a Uint8Array');
  }
  const policy = element.policy as unknown as Record<string, unknown> | null;
  if (
    typeof policy !== 'object' ||
    policy === null ||
    typeof policy.httpTimeoutSeconds !== 'number' ||
    !Array.isArray(policy.timeoutRetriesSeconds) ||
    !Array.isArray(policy.httpStatusRetries)
  ) {
    throw new SlimFaasError('bad_request', 'element.policy must be a retry policy');
  }
}

export function checkLeaseKey(queue: string, id: string, leaseToken: string): void {
  checkQueue(queue);
  checkText('id', id);
  checkText('leaseToken', leaseToken);
}
