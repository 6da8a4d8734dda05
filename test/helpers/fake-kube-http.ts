import type { ServerResponse } from 'node:http';
import { matchesSelector } from './fake-kube-selectors.js';
import type { KubeObject } from './fake-kube-store.js';

/** A `Status` object, the body of every API error. */
export function statusBody(code: number, reason: string, message: string): object {
  return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message, reason, code };
}

/** Answers `code` with a `Status` body; returns the code (for the request log). */
export function sendStatus(res: ServerResponse, code: number, reason: string, message: string): number {
  res
    .writeHead(code, { 'content-type': 'application/json' })
    .end(JSON.stringify(statusBody(code, reason, message)));
  return code;
}

/** The `labelSelector` of a list or watch as a predicate (labels never change in the fake). */
export function selectorOf(url: URL): ((object: KubeObject) => boolean) | 'invalid' {
  const selector = url.searchParams.get('labelSelector') ?? '';
  try {
    matchesSelector({}, selector);
  } catch {
    return 'invalid';
  }
  return (object) => matchesSelector(object.metadata.labels, selector);
}
