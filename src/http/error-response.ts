import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../core/errors.js';

/** The single error-code → HTTP status table (docs/errors.md documents every row). */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  function_not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  invalid_function_name: 404,
  body_too_large: 413,
  too_many_held_requests: 503,
  no_ready_replica: 504,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  upstream_error: 502,
  store_unavailable: 503,
  orchestrator_unavailable: 503,
  bad_request: 400,
  element_not_found: 404,
  shutting_down: 503,
  too_many_stream_clients: 429,
  unauthorized: 401,
  internal_error: 500,
  job_not_found: 404,
  invalid_job_name: 400,
  visibility_private: 400,
  image_not_allowed: 400,
});

/** Answers with the status of `code` and a JSON body `{"error": code, "message": …}`. */
export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: code, message });
  res.writeHead(ERROR_STATUS[code], {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}
