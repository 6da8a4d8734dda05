import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActivityTracker } from '../core/activity.js';
import type { Clock } from '../core/clock.js';
import { isValidFunctionName } from '../core/function-spec.js';
import type { Logger, Orchestrator, TopologyEvent, Waker } from '../core/ports.js';
import { EVERY_CALLER_EXTERNAL, EVERY_CALLER_INTERNAL, type CallerPolicy } from './caller-policy.js';
import { sendEmpty, sendError } from './error-response.js';
import { HeldRequests } from './held-requests.js';
import { ReplicaBalancer } from './replica-balancer.js';
import { handlePublishEvent, type EventRouteDeps } from './routes/event-route.js';
import { handleFunctionCall, type FunctionRouteDeps } from './routes/function-route.js';
import { sendStatusFunction, sendStatusFunctions } from './routes/status-routes.js';
import { UpstreamPools } from './upstream-pools.js';

export interface AppSettings {
  readonly maxHeldRequestsPerFunction: number;
  /** Sync request bodies above this answer 413 (0 = unlimited). */
  readonly maxRequestBodyBytes: number;
  readonly requestLogLevel: 'info' | 'debug';
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
    requestLogLevel: deps.settings.requestLogLevel,
    isInternalCaller: deps.isInternalCaller ?? EVERY_CALLER_EXTERNAL,
  };
  const eventDeps: EventRouteDeps = {
    orchestrator: deps.orchestrator,
    activity: deps.activity,
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
      for (const f of deps.orchestrator.functions().values()) for (const r of f.replicas) live.add(r.origin);
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
        handlePublishEvent(eventRoute, req, res, url.slice('/publish-event/'.length));
        return;
      }
      routeUrl(req, res, url);
    };
  }

  function routeUrl(req: IncomingMessage, res: ServerResponse, url: string): void {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    routeControl(req, res, path);
  }

  function routeControl(req: IncomingMessage, res: ServerResponse, path: string): void {
    const method = req.method ?? 'GET';
    if (path === '/health') return sendText(res, 200, 'OK');
    if (path === '/ready')
      return deps.isReady() ? sendText(res, 200, 'READY') : sendText(res, 503, 'NOT_READY');
    if (path === '/status-functions') {
      if (!onlyMethods(res, method, 'GET', 'HEAD')) return;
      return sendStatusFunctions(res, deps.orchestrator.functions());
    }
    if (path.startsWith('/status-function/')) {
      if (!onlyMethods(res, method, 'GET', 'HEAD')) return;
      const name = path.slice('/status-function/'.length);
      return sendStatusFunction(res, lookup(name), name);
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
      held.releaseAll('shutdown');
      await Promise.all([pools.closeAll(), externalPools.closeAll()]);
    },
  };
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
