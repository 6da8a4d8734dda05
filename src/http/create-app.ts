import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActivityFeed } from '../core/activity-feed.js';
import type { ActivityTracker } from '../core/activity.js';
import type { CallTracer } from './call-tracing.js';
import type { Clock } from '../core/clock.js';
import { isValidFunctionName } from '../core/function-spec.js';
import type { AsyncCallbackSink, Logger, Orchestrator, TopologyEvent, Waker } from '../core/ports.js';
import { isStoreUnavailable, type StateStore } from '../core/state-store.js';
import { EVERY_CALLER_EXTERNAL, EVERY_CALLER_INTERNAL, type CallerPolicy } from './caller-policy.js';
import { sendEmpty, sendError } from './error-response.js';
import { HeldRequests } from './held-requests.js';
import { ReplicaBalancer } from './replica-balancer.js';
import type { RouteKind, SlimFaasMetrics } from './metrics.js';
import {
  handleAsyncCall,
  handleAsyncCallback,
  handleDeadLetters,
  type AsyncRouteDeps,
} from './routes/async-routes.js';
import { handlePublishEvent, type EventRouteDeps } from './routes/event-route.js';
import { handleJobRoute, type JobRouteDeps } from './routes/job-routes.js';
import { handleFunctionCall, type FunctionRouteDeps } from './routes/function-route.js';
import { sendStatusFunction, sendStatusFunctions } from './routes/status-routes.js';
import type { RequestLogLevel } from './request-log.js';
import type { StaticFiles } from './static-files.js';
import type { StatusStream } from './status-stream.js';
import { UpstreamPools } from './upstream-pools.js';

export interface AppSettings {
  readonly maxHeldRequestsPerFunction: number;
  /** Sync request bodies above this answer 413 (0 = unlimited). */
  readonly maxRequestBodyBytes: number;
  /**
   * Upper bound on a sync call's wait for a ready replica
   * (`TIME_MAXIMUM_WAIT_FOR_AT_LEAST_ONE_POD_STARTED_FOR_SYNC_FUNCTION`); 0 or absent = the function's
   * `DefaultSync.HttpTimeout` alone.
   */
  readonly maxWaitForReplicaMs?: number;
  readonly requestLogLevel: RequestLogLevel;
  /** `SLIMFAAS_SUBSCRIBE_EVENTS`: event name → external subscriber URLs. Default: none. */
  readonly externalSubscribers?: ReadonlyMap<string, readonly string[]>;
}

export interface AppDeps {
  readonly orchestrator: Pick<Orchestrator, 'functions' | 'subscribe'>;
  readonly activity: ActivityTracker;
  readonly waker: Waker;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly settings: AppSettings;
  /** `/ready` answers 200 only when this returns true. */
  readonly isReady: () => boolean;
  /**
   * How `handle` (the public listener) classifies callers. Default: every caller is external, which is
   * right for local mode's entrypoint (nothing there proves a caller internal; docs/security.md).
   */
  readonly isInternalCaller?: CallerPolicy;
  /** Async calls (`/async-function`, callbacks, dead letters). Without it those routes answer 404. */
  readonly async?: {
    readonly store: StateStore;
    readonly callbacks: AsyncCallbackSink;
    /** Largest stored body; larger → 413. */
    readonly maxBodyBytes: number;
  };
  /** `/metrics` and request/cold-start observations. */
  readonly metrics?: SlimFaasMetrics;
  /** OpenTelemetry spans for sync calls; absent = tracing off. */
  readonly tracer?: CallTracer;
  /** Jobs (`/job`, `/job-schedules`, `/jobs/status`, `/status-jobs`). Without it those routes answer 404. */
  readonly jobs?: JobRouteDeps;
  /** The live activity feed the routes publish to (request in/out, enqueue, event publish). */
  readonly feed?: ActivityFeed;
  /** `GET /status-functions-stream`; without it the route answers 404. */
  readonly statusStream?: StatusStream;
  /** The dashboard's files, served at `/`. */
  readonly ui?: StaticFiles;
}

export interface App {
  /** The public listener: callers are classified by `AppDeps.isInternalCaller`. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** The internal listener (local mode, loopback only): every caller is internal. */
  readonly handleInternal: (req: IncomingMessage, res: ServerResponse) => void;
  /** Answers held requests with 503, stops listening to the topology, closes upstream pools. */
  close(): Promise<void>;
}

/** Builds the request handler (it never listens: see server.ts). */
export function createApp(deps: AppDeps): App {
  const held = new HeldRequests(deps.settings.maxHeldRequestsPerFunction);
  const pools = new UpstreamPools();
  const externalPools = new UpstreamPools();
  const functionDeps: FunctionRouteDeps = {
    orchestrator: deps.orchestrator,
    activity: deps.activity,
    waker: deps.waker,
    logger: deps.logger,
    clock: deps.clock,
    balancer: new ReplicaBalancer(),
    held,
    pools,
    maxRequestBodyBytes: deps.settings.maxRequestBodyBytes,
    maxWaitForReplicaMs: deps.settings.maxWaitForReplicaMs ?? 0,
    requestLogLevel: deps.settings.requestLogLevel,
    isInternalCaller: deps.isInternalCaller ?? EVERY_CALLER_EXTERNAL,
    observer: deps.metrics,
    tracer: deps.tracer,
    feed: deps.feed,
  };
  const asyncDeps: AsyncRouteDeps | undefined =
    deps.async === undefined
      ? undefined
      : {
          orchestrator: deps.orchestrator,
          store: deps.async.store,
          callbacks: deps.async.callbacks,
          clock: deps.clock,
          logger: deps.logger,
          maxBodyBytes: deps.async.maxBodyBytes,
          feed: deps.feed,
        };
  const eventDeps: EventRouteDeps = {
    orchestrator: deps.orchestrator,
    activity: deps.activity,
    feed: deps.feed,
    logger: deps.logger,
    clock: deps.clock,
    pools,
    externalPools,
    externalSubscribers: deps.settings.externalSubscribers ?? new Map<string, readonly string[]>(),
    maxRequestBodyBytes: deps.settings.maxRequestBodyBytes,
    requestLogLevel: deps.settings.requestLogLevel,
    isInternalCaller: functionDeps.isInternalCaller,
  };
  const handle = listenerHandler(functionDeps, eventDeps);
  const handleInternal = listenerHandler(
    { ...functionDeps, isInternalCaller: EVERY_CALLER_INTERNAL },
    { ...eventDeps, isInternalCaller: EVERY_CALLER_INTERNAL },
  );
  const unsubscribe = deps.orchestrator.subscribe((event) => onTopologyEvent(event));

  function onTopologyEvent(event: TopologyEvent): void {
    const fn = deps.orchestrator.functions().get(event.name);
    if (fn !== undefined && fn.replicas.some((r) => r.ready)) held.release(event.name);
    if (event.kind !== 'replica-ready') {
      const live = new Set<string>();
      for (const f of deps.orchestrator.functions().values()) {
        for (const r of f.replicas) {
          live.add(r.origin);
          if (r.podOrigin !== undefined) live.add(r.podOrigin);
        }
      }
      pools.retain(live);
    }
  }

  /** One handler per listener; they differ only in how callers are classified. */
  function listenerHandler(
    functionRoute: FunctionRouteDeps,
    eventRoute: EventRouteDeps,
  ): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/function/')) {
        handleFunctionCall(functionRoute, req, res, url.slice('/function/'.length));
        return;
      }
      if (url.startsWith('/publish-event/')) {
        observe('event', res);
        handlePublishEvent(eventRoute, req, res, url.slice('/publish-event/'.length));
        return;
      }
      if (url.startsWith('/async-function') && asyncDeps !== undefined) {
        observe('async', res);
        routeAsync(asyncDeps, functionRoute.isInternalCaller, req, res, url);
        return;
      }
      if (deps.jobs !== undefined && isJobPath(pathOf(url))) {
        observe('control', res);
        const path = pathOf(url);
        handleJobRoute(deps.jobs, functionRoute.isInternalCaller, req, res, path).catch((error: unknown) => {
          deps.logger.error({ err: error, url }, 'job route failed');
          sendError(res, 'internal_error', 'internal error');
        });
        return;
      }
      routeUrl(req, res, url);
    };
  }

  function routeAsync(
    asyncRoute: AsyncRouteDeps,
    isInternal: CallerPolicy,
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
  ): void {
    const fail = (error: unknown): void => {
      deps.logger.error({ err: error, url }, 'async route failed');
      sendError(res, 'internal_error', 'internal error');
    };
    if (url.startsWith('/async-function/')) {
      handleAsyncCall(asyncRoute, isInternal, req, res, url.slice('/async-function/'.length)).catch(fail);
    } else if (url.startsWith('/async-function-callback/')) {
      if (!onlyMethods(res, req.method ?? 'GET', 'POST')) return;
      handleAsyncCallback(
        asyncRoute,
        isInternal,
        req,
        res,
        pathOf(url).slice('/async-function-callback/'.length),
      ).catch(fail);
    } else if (url.startsWith('/async-function-dead-letters/')) {
      handleDeadLetters(
        asyncRoute,
        isInternal,
        req,
        res,
        pathOf(url).slice('/async-function-dead-letters/'.length),
      ).catch(fail);
    } else {
      routeUrl(req, res, url);
    }
  }

  function routeUrl(req: IncomingMessage, res: ServerResponse, url: string): void {
    const path = pathOf(url);
    // A stream lasts as long as the client watches: not a request duration worth a histogram.
    if (path === '/status-functions-stream' && deps.statusStream !== undefined) {
      deps.statusStream.handle(req, res);
      return;
    }
    observe(
      path.startsWith('/status-function') ? 'status' : path.startsWith('/wake-function') ? 'wake' : 'control',
      res,
    );
    routeControl(req, res, path);
  }

  /** Request duration by route kind and status class (the sync route observes its own, on its hot path). */
  function observe(kind: RouteKind, res: ServerResponse): void {
    const metrics = deps.metrics;
    if (metrics === undefined) return;
    const startedMs = performance.now();
    res.once('finish', () =>
      metrics.observeRequest(kind, res.statusCode, (performance.now() - startedMs) / 1000),
    );
  }

  function routeControl(req: IncomingMessage, res: ServerResponse, path: string): void {
    const method = req.method ?? 'GET';
    if (path === '/health') return sendText(res, 200, 'OK');
    if (path === '/ready')
      return deps.isReady() ? sendText(res, 200, 'READY') : sendText(res, 503, 'NOT_READY');
    if (path === '/metrics' && deps.metrics !== undefined) {
      const metrics = deps.metrics;
      metrics.render().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
          res.end(body);
        },
        (error: unknown) => {
          deps.logger.error({ err: error }, 'metrics collection failed');
          sendError(
            res,
            isStoreUnavailable(error) ? 'store_unavailable' : 'internal_error',
            'metrics unavailable',
          );
        },
      );
      return;
    }
    if (path === '/status-functions') {
      if (!onlyMethods(res, method, 'GET', 'HEAD')) return;
      return sendStatusFunctions(res, deps.orchestrator.functions());
    }
    if (path.startsWith('/status-function/')) {
      if (!onlyMethods(res, method, 'GET', 'HEAD')) return;
      const name = path.slice('/status-function/'.length);
      const fn = lookup(name);
      if (fn === undefined || asyncDeps === undefined) return sendStatusFunction(res, fn, name);
      asyncDeps.store.counts(name).then(
        (counts) => sendStatusFunction(res, fn, name, counts),
        () => sendStatusFunction(res, fn, name),
      );
      return;
    }
    if (path === '/wake-functions') {
      if (!onlyMethods(res, method, 'POST', 'GET')) return;
      for (const name of deps.orchestrator.functions().keys()) deps.waker.wake(name);
      return sendEmpty(res, 204);
    }
    if (path.startsWith('/wake-function/')) {
      if (!onlyMethods(res, method, 'POST', 'GET')) return;
      const name = path.slice('/wake-function/'.length);
      if (lookup(name) === undefined)
        return sendError(res, 'function_not_found', `no function named "${name}"`);
      deps.waker.wake(name);
      return sendEmpty(res, 204);
    }
    if ((method === 'GET' || method === 'HEAD') && deps.ui?.has(path) === true) {
      deps.ui.serve(req, res, path);
      return;
    }
    sendError(res, 'route_not_found', `no route for ${method} ${path}`);
  }

  function lookup(name: string) {
    return isValidFunctionName(name) ? deps.orchestrator.functions().get(name) : undefined;
  }

  return {
    handle,
    handleInternal,
    async close() {
      unsubscribe();
      deps.statusStream?.close();
      held.releaseAll('shutdown');
      await Promise.all([pools.closeAll(), externalPools.closeAll()]);
    },
  };
}

function isJobPath(path: string): boolean {
  return (
    path.startsWith('/job/') ||
    path.startsWith('/job-schedules/') ||
    path === '/jobs/status' ||
    path === '/status-jobs'
  );
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function onlyMethods(res: ServerResponse, method: string, ...allowed: string[]): boolean {
  if (allowed.includes(method)) return true;
  res.setHeader('allow', allowed.join(', '));
  sendError(res, 'method_not_allowed', `${method} is not allowed here; use ${allowed.join(' or ')}`);
  return false;
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
