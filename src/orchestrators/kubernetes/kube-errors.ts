import { SlimFaasError } from '../../core/errors.js';

/** The HTTP status of a failed Kubernetes call: `ApiException.code` or a watch error's `statusCode`. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

/** A short description for a log line (an ApiException's message embeds the whole response body). */
export function describeKubeError(error: unknown): string {
  const status = httpStatusOf(error);
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return status === undefined ? (message ?? '') : `HTTP ${status}: ${message ?? ''}`;
}

/**
 * Translates a Kubernetes API failure at the orchestrator's boundary: 404 → `function_not_found`
 * (the workload is gone), anything else (5xx, 403, connection refused) → `orchestrator_unavailable`.
 */
export function toSlimFaasError(error: unknown, what: string): SlimFaasError {
  if (error instanceof SlimFaasError) return error;
  const status = httpStatusOf(error);
  const code = status === 404 ? 'function_not_found' : 'orchestrator_unavailable';
  return new SlimFaasError(code, `${what}: ${describeKubeError(error)}`, { cause: error });
}
