import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActivityFeed } from '../../core/activity-feed.js';
import type { ActivityTracker } from '../../core/activity.js';
import type { Clock } from '../../core/clock.js';
import { isValidFunctionName } from '../../core/function-spec.js';
import type { Logger, Orchestrator, Waker } from '../../core/ports.js';
import type { FunctionState, Replica } from '../../core/topology.js';
import { resolveVisibility } from '../../core/visibility.js';
import type { CallSpan, CallTracer } from '../call-tracing.js';
import type { CallerPolicy } from '../caller-policy.js';
import { sendError } from '../error-response.js';
import type { HeldRequests } from '../held-requests.js';
import { upstreamRequestHeaders } from '../hop-by-hop.js';
import { forward } from '../proxy.js';
import type { ReplicaBalancer } from '../replica-balancer.js';
import { requestIdOf, withRequestId, type RequestId } from '../request-id.js';
import { logSyncCall, type RequestLogLevel } from '../request-log.js';
import type { UpstreamPools } from '../upstream-pools.js';

/** What the function route reports for metrics (optional: tests may leave it out). */
export interface SyncCallObserver {
  observeRequest(kind: 'function', status: number, seconds: number): void;
  observeColdStart(functionName: string, seconds: number): void;
}

export interface FunctionRouteDeps {
  readonly observer?: SyncCallObserver | undefined;
  /** The live activity feed (status stream); costs nothing while nobody listens. */
  readonly feed?: ActivityFeed | undefined;
  readonly orchestrator: Pick<Orchestrator, 'functions'>;
  readonly activity: ActivityTracker;
  readonly waker: Waker;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly balancer: ReplicaBalancer;
  readonly held: HeldRequests;
  readonly pools: UpstreamPools;
  readonly maxRequestBodyBytes: number;
  /** Caps the wait for a ready replica when > 0 (otherwise `DefaultSync.HttpTimeout` alone bounds it). */
  readonly maxWaitForReplicaMs: number;
  readonly requestLogLevel: RequestLogLevel;
  /** The listener's caller classification, consulted only for a private function or path. */
  readonly isInternalCaller: CallerPolicy;
  /** OpenTelemetry spans per call; absent when tracing is off (then no tracing code runs). */
  readonly tracer?: CallTracer | undefined;
}

/**
 * `/function/{name}[/{path}]`: the sync call. `rest` is everything after `/function/`, query included.
 * Looks the function up (a private function or path is not found by an external caller), holds the
 * request while it has no ready replica (which wakes it), then streams the exchange to the least-loaded
 * ready replica.
 */
export function handleFunctionCall(
  deps: FunctionRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
): void {
  const { name, path } = splitNameAndPath(rest);
  const fn = isValidFunctionName(name) ? deps.orchestrator.functions().get(name) : undefined;
  // A private function or path answers exactly as a missing one, so an outsider learns nothing.
  if (fn === undefined || (resolveVisibility(fn.spec, path) === 'Private' && !deps.isInternalCaller(req))) {
    sendError(res, 'function_not_found', `no function named "${name}"`);
    return;
  }
  const length = req.headers['content-length'];
  if (deps.maxRequestBodyBytes > 0 && length !== undefined && Number(length) > deps.maxRequestBodyBytes) {
    // Node discards the unread body after the answer, so the client can read the 413 (no EPIPE).
    sendError(res, 'body_too_large', `request body exceeds ${deps.maxRequestBodyBytes} bytes`);
    return;
  }
  const startedMs = deps.clock.now();
  const requestId = requestIdOf(req.headers);
  const span = deps.tracer?.startCall(req, { functionName: name, path, requestId: requestId.id });
  deps.activity.begin(name);
  deps.feed?.record('request_in', name);
  const replica = deps.balancer.pick(fn);
  if (replica !== undefined) {
    send(deps, { req, res, fn, replica, path, startedMs, requestId, span, coldStart: false });
    return;
  }
  void holdThenSend(deps, { req, res, fn, path, startedMs, requestId, span });
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly fn: FunctionState;
  readonly path: string;
  readonly startedMs: number;
  readonly requestId: RequestId;
  readonly span: CallSpan | undefined;
}

async function holdThenSend(deps: FunctionRouteDeps, exchange: Exchange): Promise<void> {
  const { res, fn } = exchange;
  const name = fn.spec.name;
  deps.waker.wake(name);
  exchange.span?.coldStartBegin();
  const httpTimeoutMs = fn.spec.configuration.defaultSync.httpTimeoutSeconds * 1000;
  const timeoutMs =
    deps.maxWaitForReplicaMs > 0 ? Math.min(httpTimeoutMs, deps.maxWaitForReplicaMs) : httpTimeoutMs;
  const outcome = await deps.held.hold(name, timeoutMs, (abort) => {
    res.once('close', abort);
    return () => res.off('close', abort);
  });
  exchange.span?.coldStartEnd(outcome);
  const current = deps.orchestrator.functions().get(name);
  const replica = outcome === 'ready' && current !== undefined ? deps.balancer.pick(current) : undefined;
  if (replica !== undefined && current !== undefined) {
    deps.observer?.observeColdStart(name, (deps.clock.now() - exchange.startedMs) / 1000);
    send(deps, { ...exchange, fn: current, replica, coldStart: true });
    return;
  }
  deps.activity.end(name);
  res.setHeader('x-request-id', exchange.requestId.id);
  if (deps.feed?.active === true) deps.feed.record('request_out', name, undefined, { error: outcome });
  if (outcome === 'overflow') {
    sendError(res, 'too_many_held_requests', `too many requests are waiting for "${name}" to wake`, {
      'retry-after': '1',
    });
  } else if (outcome === 'shutdown') {
    sendError(res, 'shutting_down', 'SlimFaas is shutting down');
  } else if (outcome !== 'aborted') {
    sendError(res, 'no_ready_replica', `"${name}" had no ready replica within ${timeoutMs} ms`);
  }
  deps.observer?.observeRequest('function', res.statusCode, (deps.clock.now() - exchange.startedMs) / 1000);
  exchange.span?.end(outcome === 'aborted' ? 0 : res.statusCode);
  logSyncCall(
    deps,
    exchange,
    outcome === 'aborted' ? { kind: 'client-aborted' } : { kind: 'no-replica', status: res.statusCode },
  );
}

function send(deps: FunctionRouteDeps, exchange: Exchange & { replica: Replica; coldStart: boolean }): void {
  const { req, res, fn, replica } = exchange;
  const name = fn.spec.name;
  deps.balancer.acquire(replica.id);
  const socket = req.socket;
  const headers = withRequestId(
    upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
      remoteAddress: socket.remoteAddress ?? '',
      proto: 'http',
    }),
    exchange.requestId,
  );
  forward({
    req,
    res,
    pool: deps.pools.proxy(replica.origin),
    path: exchange.path,
    headers:
      exchange.span === undefined
        ? headers
        : exchange.span.upstreamBegin(replica, req.method ?? 'GET', headers),
    headersTimeoutMs: fn.spec.configuration.defaultSync.httpTimeoutSeconds * 1000,
    maxBodyBytes: deps.maxRequestBodyBytes,
    extraResponseHeaders: exchange.coldStart
      ? ['x-slimfaas-cold-start', 'true', 'x-request-id', exchange.requestId.id]
      : ['x-request-id', exchange.requestId.id],
    onDone: (outcome) => {
      deps.balancer.release(replica.id);
      deps.activity.end(name);
      if (deps.feed?.active === true)
        deps.feed.record('request_out', name, replica.id, { status: outcome.status });
      deps.observer?.observeRequest(
        'function',
        outcome.status,
        (deps.clock.now() - exchange.startedMs) / 1000,
      );
      exchange.span?.end(outcome.status, outcome.kind === 'failed' ? outcome.error : undefined);
      logSyncCall(deps, exchange, outcome, replica.id);
    },
  });
}

/** `fib/hello/x?q=1` → name `fib`, path `/hello/x?q=1`; `fib?x` → `/?x`; trailing slashes are kept. */
export function splitNameAndPath(rest: string): { name: string; path: string } {
  let end = 0;
  while (end < rest.length) {
    const c = rest.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */) break;
    end++;
  }
  const name = rest.slice(0, end);
  const tail = rest.slice(end);
  if (tail === '') return { name, path: '/' };
  return { name, path: tail.charCodeAt(0) === 63 ? `/${tail}` : tail };
}
