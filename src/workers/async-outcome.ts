import { storedRequestIdOf } from '../core/async-request.js';
import type { Logger } from '../core/ports.js';
import type { AttemptEnd, LeaseOperationResult, StateStore } from '../core/state-store.js';
import type { FinalStep } from './async-next-step.js';
import type { Tracked } from './async-tracked.js';

/** Reports a decision to the store and logs it: failures and dead letters at warn. */
export async function recordStep(
  deps: { readonly store: StateStore; readonly logger: Logger },
  tracked: Tracked,
  step: FinalStep,
): Promise<void> {
  const { queue, element } = tracked;
  const { store, logger } = deps;
  const token = element.leaseToken;
  let result: LeaseOperationResult;
  switch (step.kind) {
    case 'complete':
      result = await store.complete(queue, element.id, token);
      break;
    case 'retry':
      result = await store.retryLater(queue, element.id, token, {
        ...step.end,
        notBeforeMs: step.notBeforeMs,
      });
      logger.warn(
        { ...fields(tracked), ...endFields(step.end), notBeforeMs: step.notBeforeMs },
        'async attempt failed; retry scheduled',
      );
      break;
    case 'dead':
      result = await store.deadLetter(queue, element.id, token, step.end);
      logger.warn(
        {
          function: queue,
          id: element.id,
          requestId: storedRequestIdOf(element.payload),
          attempts: element.attempt,
          ...endFields(step.end),
          reason: step.reason,
        },
        'async request dead-lettered',
      );
      break;
  }
  if (result.kind !== 'ok') logLeaseLost(logger, tracked, result);
}

export function logLeaseLost(logger: Logger, tracked: Tracked, result: LeaseOperationResult): void {
  logger.warn(
    { ...fields(tracked), result: result.kind },
    'async outcome not recorded: the lease was lost (the element was redelivered or removed)',
  );
}

function fields(tracked: Tracked): { function: string; id: string; attempt: number } {
  return { function: tracked.queue, id: tracked.element.id, attempt: tracked.element.attempt };
}

function endFields(end: AttemptEnd): { lastStatus?: number; lastError?: string } {
  return end.lastStatus !== undefined ? { lastStatus: end.lastStatus } : { lastError: end.lastError };
}
