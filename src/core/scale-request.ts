import { SlimFaasError } from './errors.js';

export type ScaleRequestCheck<T> =
  { readonly ok: true; readonly target: T } | { readonly ok: false; readonly error: SlimFaasError };

/**
 * The `Orchestrator.setReplicas` contract's refusals, in order, shared by every implementation:
 * unknown function (`target` undefined) → `function_not_found`; a count that is not a non-negative
 * integer → `bad_request`; a closed orchestrator → `shutting_down`. Otherwise the found target.
 */
export function checkScaleRequest<T>(
  target: T | undefined,
  request: { readonly name: string; readonly replicas: number; readonly closed: boolean },
): ScaleRequestCheck<T> {
  const { name, replicas } = request;
  const refuse = (error: SlimFaasError): ScaleRequestCheck<T> => ({ ok: false, error });
  if (target === undefined)
    return refuse(new SlimFaasError('function_not_found', `function ${name} not found`));
  if (!Number.isSafeInteger(replicas) || replicas < 0) {
    return refuse(new SlimFaasError('bad_request', `invalid replica count ${replicas} for ${name}`));
  }
  if (request.closed)
    return refuse(new SlimFaasError('shutting_down', `cannot scale ${name}: orchestrator closed`));
  return { ok: true, target };
}
