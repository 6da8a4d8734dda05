import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActivityFeed } from '../../core/activity-feed.js';
import { encodeStoredRequest } from '../../core/async-request.js';
import type { Clock } from '../../core/clock.js';
import { isValidFunctionName } from '../../core/function-spec.js';
import type { AsyncCallbackSink, Logger, Orchestrator } from '../../core/ports.js';
import { isStoreUnavailable, type StateStore } from '../../core/state-store.js';
import type { FunctionState } from '../../core/topology.js';
import { resolveVisibility } from '../../core/visibility.js';
import type { CallerPolicy } from '../caller-policy.js';
import { sendEmpty, sendError, sendJson } from '../error-response.js';
import { upstreamRequestHeaders } from '../hop-by-hop.js';
import { readBody } from '../read-body.js';
import { requestIdOf, withRequestId } from '../request-id.js';
import { splitNameAndPath } from './function-route.js';

export interface AsyncRouteDeps {
  readonly orchestrator: Pick<Orchestrator, 'functions'>;
  readonly store: StateStore;
  readonly callbacks: AsyncCallbackSink;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Largest stored body; larger → 413 (docs/compatibility.md: no spill to disk). */
  readonly maxBodyBytes: number;
  readonly feed?: ActivityFeed | undefined;
}

/** `/async-function/{name}[/{path}]`: stores the whole request durably, then answers 202. */
export async function handleAsyncCall(
  deps: AsyncRouteDeps,
  isInternal: CallerPolicy,
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
): Promise<void> {
  const { name, path } = splitNameAndPath(rest);
  const fn = lookup(deps, name);
  if (fn === undefined || (resolveVisibility(fn.spec, path) === 'Private' && !isInternal(req))) {
    sendError(res, 'function_not_found', `no function named "${name}"`);
    return;
  }
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > deps.maxBodyBytes) {
    sendError(res, 'body_too_large', `async request bodies are limited to ${deps.maxBodyBytes} bytes`);
    return;
  }
  const read = await readBody(req, deps.maxBodyBytes);
  if (read.kind === 'aborted') return;
  if (read.kind === 'too-large') {
    res.setHeader('connection', 'close');
    sendError(res, 'body_too_large', `async request bodies are limited to ${deps.maxBodyBytes} bytes`);
    return;
  }
  const id = randomUUID();
  // The request id is stored with the request, so every delivery attempt carries it.
  const requestId = requestIdOf(req.headers);
  const headers = withRequestId(
    upstreamRequestHeaders(withoutContentLength(req.rawHeaders), req.headers.connection, {
      remoteAddress: req.socket.remoteAddress ?? '',
      proto: 'http',
    }),
    requestId,
  );
  const payload = encodeStoredRequest({ method: req.method ?? 'GET', path, headers, body: read.body });
  try {
    await deps.store.enqueue(name, {
      id,
      payload,
      enqueuedAtMs: deps.clock.now(),
      policy: fn.spec.configuration.defaultAsync,
      newId: true,
    });
  } catch (error) {
    answerStoreError(deps, res, error, name);
    return;
  }
  deps.feed?.record('enqueue', name);
  res.writeHead(202, { 'slimfaas-element-id': id, 'x-request-id': requestId.id, 'content-length': 0 });
  res.end();
}

/** `POST /async-function-callback/{name}/{elementId}/{status}` (callback mode, reference §1.3). */
export async function handleAsyncCallback(
  deps: AsyncRouteDeps,
  isInternal: CallerPolicy,
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
): Promise<void> {
  const [name = '', elementId = '', status = '', ...extra] = rest.split('/');
  const fn = lookup(deps, name);
  if (fn === undefined || (resolveVisibility(fn.spec, '/') === 'Private' && !isInternal(req))) {
    sendError(res, 'function_not_found', `no function named "${name}"`);
    return;
  }
  if (elementId === '' || status === '' || extra.length > 0) {
    sendError(res, 'bad_request', 'expected /async-function-callback/{name}/{elementId}/{status}');
    return;
  }
  req.resume();
  const outcome = await deps.callbacks.callback(name, elementId, status.toLowerCase() === 'success');
  if (outcome === 'not-found') {
    sendError(res, 'element_not_found', `element "${elementId}" of "${name}" is not waiting for a callback`);
    return;
  }
  sendEmpty(res, 200);
}

/**
 * Dead letters: `GET /async-function-dead-letters/{name}`,
 * `POST /async-function-dead-letters/{name}/{id}/retry`, `DELETE /async-function-dead-letters/{name}/{id}`.
 */
export async function handleDeadLetters(
  deps: AsyncRouteDeps,
  isInternal: CallerPolicy,
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
): Promise<void> {
  const [name = '', id, action, ...extra] = rest.split('/');
  const fn = lookup(deps, name);
  if (fn === undefined || (fn.spec.defaultVisibility === 'Private' && !isInternal(req))) {
    sendError(res, 'function_not_found', `no function named "${name}"`);
    return;
  }
  req.resume();
  const method = req.method ?? 'GET';
  try {
    if (id === undefined && method === 'GET') {
      sendJson(res, 200, await deps.store.deadLetters(name));
    } else if (id !== undefined && action === 'retry' && extra.length === 0 && method === 'POST') {
      const result = await deps.store.requeueDeadLetter(name, id);
      if (result.kind === 'not-found')
        sendError(res, 'element_not_found', `no dead letter "${id}" for "${name}"`);
      else sendEmpty(res, 204);
    } else if (id !== undefined && action === undefined && method === 'DELETE') {
      const result = await deps.store.deleteDeadLetter(name, id);
      if (result.kind === 'not-found')
        sendError(res, 'element_not_found', `no dead letter "${id}" for "${name}"`);
      else sendEmpty(res, 204);
    } else {
      sendError(res, 'method_not_allowed', `${method} is not allowed on this dead-letter route`);
    }
  } catch (error) {
    answerStoreError(deps, res, error, name);
  }
}

function lookup(deps: AsyncRouteDeps, name: string): FunctionState | undefined {
  return isValidFunctionName(name) ? deps.orchestrator.functions().get(name) : undefined;
}

function answerStoreError(deps: AsyncRouteDeps, res: ServerResponse, error: unknown, name: string): void {
  if (isStoreUnavailable(error)) {
    deps.logger.warn({ function: name, err: error }, 'state store unavailable');
    sendError(res, 'store_unavailable', 'the state store is unavailable; nothing was stored');
  } else {
    deps.logger.error({ function: name, err: error }, 'async route failed');
    sendError(res, 'internal_error', 'internal error; nothing was stored');
  }
}

/** The stored body is exact; the dispatcher's client sets Content-Length itself. */
function withoutContentLength(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'content-length')
      out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}
