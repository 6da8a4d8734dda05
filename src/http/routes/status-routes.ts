import type { ServerResponse } from 'node:http';
import type { QueueCounts } from '../../core/state-store.js';
import type { FunctionState } from '../../core/topology.js';
import { sendError, sendJson } from '../error-response.js';

/**
 * SlimFaas's `FunctionStatus` JSON, field names and order exactly as the original
 * (`{"NumberReady":1,"NumberRequested":0,"PodType":"Deployment","Visibility":"Public","Name":"fibonacci"}`).
 */
export function functionStatus(fn: FunctionState): Record<string, unknown> {
  let ready = 0;
  for (const replica of fn.replicas) if (replica.ready) ready++;
  return {
    NumberReady: ready,
    NumberRequested: fn.requested,
    PodType: fn.podType,
    Visibility: fn.spec.defaultVisibility,
    Name: fn.spec.name,
  };
}

export function sendStatusFunctions(
  res: ServerResponse,
  functions: ReadonlyMap<string, FunctionState>,
): void {
  sendJson(res, 200, [...functions.values()].map(functionStatus));
}

/**
 * One function's status. With async calls enabled, the queue counts follow SlimFaas's fields as an
 * extra `Queue` object (`{"Ready","InFlight","RetryPending","Dead"}`): existing clients ignore it.
 */
export function sendStatusFunction(
  res: ServerResponse,
  fn: FunctionState | undefined,
  name: string,
  counts?: QueueCounts,
): void {
  if (fn === undefined) {
    sendError(res, 'function_not_found', `no function named "${name}"`);
    return;
  }
  const status = functionStatus(fn);
  if (counts !== undefined) {
    status.Queue = {
      Ready: counts.ready,
      InFlight: counts.inFlight,
      RetryPending: counts.retryPending,
      Dead: counts.dead,
    };
  }
  sendJson(res, 200, status);
}
