/**
 * Every error SlimFaas answers with has one of these codes. `http/error-response.ts` maps each code to an
 * HTTP status, and docs/errors.md documents each one (a test checks both lists).
 */
export const ERROR_CODES = [
  'function_not_found',
  'route_not_found',
  'method_not_allowed',
  'invalid_function_name',
  'body_too_large',
  'too_many_held_requests',
  'no_ready_replica',
  'upstream_unreachable',
  'upstream_timeout',
  'upstream_error',
  'store_unavailable',
  'orchestrator_unavailable',
  'bad_request',
  'element_not_found',
  'shutting_down',
  'too_many_stream_clients',
  'unauthorized',
  'internal_error',
  'job_not_found',
  'invalid_job_name',
  'visibility_private',
  'image_not_allowed',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class SlimFaasError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SlimFaasError';
    this.code = code;
  }
}
