import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActivityFeed } from '../../core/activity-feed.js';
import type { ActivityTracker } from '../../core/activity.js';
import type { Clock } from '../../core/clock.js';
import { DEFAULT_CONFIGURATION } from '../../core/function-spec.js';
import type { Logger, Orchestrator } from '../../core/ports.js';
import { resolveEventVisibility } from '../../core/visibility.js';
import type { CallerPolicy } from '../caller-policy.js';
import { sendEmpty, sendError, sendJson } from '../error-response.js';
import { upstreamRequestHeaders } from '../hop-by-hop.js';
import { deliverAll, type DeliveryTarget, type EventMessage } from '../publish-fanout.js';
import { readBody } from '../read-body.js';
import { requestIdOf, withRequestId } from '../request-id.js';
import type { RequestLogLevel } from '../request-log.js';
import type { UpstreamPools } from '../upstream-pools.js';
import { splitNameAndPath } from './function-route.js';

export interface EventRouteDeps {
  readonly orchestrator: Pick<Orchestrator, 'functions'>;
  readonly activity: ActivityTracker;
  readonly feed?: ActivityFeed | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Pools of the replicas (shared with the sync route). */
  readonly pools: UpstreamPools;
  /** Pools of external subscribers (never pruned by topology changes). */
  readonly externalPools: UpstreamPools;
  /** `SLIMFAAS_SUBSCRIBE_EVENTS`: event name → subscriber URLs. */
  readonly externalSubscribers: ReadonlyMap<string, readonly string[]>;
  readonly isInternalCaller: CallerPolicy;
  readonly maxRequestBodyBytes: number;
  readonly requestLogLevel: RequestLogLevel;
}

/** Headers our fan-out sets itself (undici computes the length of the buffered body and refuses Expect). */
const NOT_COPIED = new Set(['content-length', 'expect']);

/**
 * `/publish-event/{event}[/{path}]`, any method. `rest` is everything after `/publish-event/`.
 * 404 when nobody this caller may publish to subscribes; otherwise the body is buffered and sent to every
 * ready replica of every subscriber (and every external subscriber) in parallel, and the answer is 204
 * once every delivery has finished, or 200 with a delivery report under `Prefer: return=representation`.
 * Publishing never wakes a function: a subscriber without a ready replica receives nothing.
 */
export function handlePublishEvent(
  deps: EventRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
): void {
  const { name: rawEvent, path } = splitNameAndPath(rest);
  const event = decodeEventName(rawEvent);
  const subscribers = event === undefined ? undefined : findSubscribers(deps, req, event, path);
  if (event === undefined || subscribers === undefined || subscribers.count === 0) {
    sendError(res, 'function_not_found', `no subscriber for event "${rawEvent}"`);
    return;
  }
  const length = req.headers['content-length'];
  if (deps.maxRequestBodyBytes > 0 && length !== undefined && Number(length) > deps.maxRequestBodyBytes) {
    sendError(res, 'body_too_large', `request body exceeds ${deps.maxRequestBodyBytes} bytes`);
    return;
  }
  void publish(deps, { req, res, event, targets: subscribers.targets });
}

interface Subscribers {
  /** Subscribing functions (with or without a ready replica) plus external subscribers. */
  readonly count: number;
  readonly targets: readonly DeliveryTarget[];
}

/**
 * Functions subscribe with `SubscribeEvents` (exact, case-sensitive name). An external caller only sees
 * public subscriptions whose target path is not private (core/visibility.ts); the caller is classified at
 * most once, and only when a private subscription is met.
 */
function findSubscribers(
  deps: EventRouteDeps,
  req: IncomingMessage,
  event: string,
  path: string,
): Subscribers {
  let internal: boolean | undefined;
  let count = 0;
  const targets: DeliveryTarget[] = [];
  for (const fn of deps.orchestrator.functions().values()) {
    const visible = fn.spec.subscribeEvents.some(
      (subscription) =>
        subscription.name === event &&
        (resolveEventVisibility(fn.spec, subscription, path) === 'Public' ||
          (internal ??= deps.isInternalCaller(req))),
    );
    if (!visible) continue;
    count++;
    for (const replica of fn.replicas) {
      if (!replica.ready) continue;
      const policy = fn.spec.configuration.defaultPublish;
      const origin = replica.podOrigin ?? replica.origin;
      targets.push({ function: fn.spec.name, replica: replica.id, origin, path, policy });
    }
  }
  for (const url of deps.externalSubscribers.get(event) ?? []) {
    count++;
    const target = new URL(url);
    targets.push({
      function: null,
      replica: null,
      url,
      origin: target.origin,
      path: joinPath(target, path),
      policy: DEFAULT_CONFIGURATION.defaultPublish,
    });
  }
  return { count, targets };
}

async function publish(
  deps: EventRouteDeps,
  exchange: { req: IncomingMessage; res: ServerResponse; event: string; targets: readonly DeliveryTarget[] },
): Promise<void> {
  const { req, res, event, targets } = exchange;
  const startedMs = deps.clock.now();
  const read = await readBody(req, deps.maxRequestBodyBytes);
  if (read.kind === 'aborted') return;
  if (read.kind === 'too-large') {
    sendError(res, 'body_too_large', `request body exceeds ${deps.maxRequestBodyBytes} bytes`, {
      connection: 'close',
    });
    return;
  }
  const requestId = requestIdOf(req.headers);
  const message: EventMessage = {
    method: req.method ?? 'POST',
    headers: withRequestId(
      withoutSetHeaders(
        upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
          remoteAddress: req.socket.remoteAddress ?? '',
          proto: 'http',
        }),
      ),
      requestId,
    ),
    body: read.body,
  };
  const deliveries = await deliverAll(
    {
      dispatcher: (target) =>
        target.function === null ? deps.externalPools.get(target.origin) : deps.pools.get(target.origin),
      activity: deps.activity,
      feed: deps.feed === undefined ? undefined : { feed: deps.feed, event },
      clock: deps.clock,
      logger: deps.logger,
      stillTargeted: (target) => stillTargeted(deps, target),
    },
    targets,
    message,
  );
  if (deps.requestLogLevel !== 'off' && deps.logger.isLevelEnabled(deps.requestLogLevel)) {
    const failed = deliveries.filter((d) => d.status === null || d.status >= 500).length;
    const durationMs = deps.clock.now() - startedMs;
    deps.logger[deps.requestLogLevel](
      {
        requestId: requestId.id,
        event,
        method: message.method,
        deliveries: deliveries.length,
        failed,
        durationMs,
      },
      'event published',
    );
  }
  res.setHeader('x-request-id', requestId.id);
  if (wantsRepresentation(req.headers.prefer)) {
    res.setHeader('preference-applied', 'return=representation');
    sendJson(res, 200, { event, deliveries });
  } else {
    sendEmpty(res, 204);
  }
}

function withoutSetHeaders(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string;
    if (!NOT_COPIED.has(name.toLowerCase())) out.push(name, flat[i + 1] as string);
  }
  return out;
}

function stillTargeted(deps: EventRouteDeps, target: DeliveryTarget): boolean {
  if (target.function === null) return true;
  const fn = deps.orchestrator.functions().get(target.function);
  return (
    fn?.replicas.some(
      (r) => r.id === target.replica && r.ready && (r.podOrigin ?? r.origin) === target.origin,
    ) === true
  );
}

/** Event names are matched decoded (`my%20event` is `my event`); undefined when malformed or empty. */
function decodeEventName(raw: string): string | undefined {
  try {
    const name = decodeURIComponent(raw);
    return name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

/**
 * The path an external subscriber receives. `http://h/hooks?k=1` with event path `/x?q=2` →
 * `/hooks/x?k=1&q=2`; without an event path the URL's own path is kept (`/hooks?k=1&q=2`).
 */
function joinPath(url: URL, path: string): string {
  const q = path.indexOf('?');
  const eventPath = q === -1 ? path : path.slice(0, q);
  const query = [url.search.slice(1), q === -1 ? '' : path.slice(q + 1)].filter((p) => p !== '').join('&');
  const joined = eventPath === '/' ? url.pathname : url.pathname.replace(/\/+$/, '') + eventPath;
  return query === '' ? joined : `${joined}?${query}`;
}

/** RFC 7240 `Prefer: return=representation` (case-insensitive, among other preferences). */
export function wantsRepresentation(prefer: string | readonly string[] | undefined): boolean {
  if (prefer === undefined) return false;
  return (typeof prefer === 'string' ? [prefer] : prefer)
    .flatMap((value) => value.split(','))
    .some(
      (preference) => preference.split(';')[0]?.replace(/\s+/g, '').toLowerCase() === 'return=representation',
    );
}
