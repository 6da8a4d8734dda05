import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { ActivityFeed } from '../core/activity-feed.js';
import type { ActivityTracker } from '../core/activity.js';
import type { Clock } from '../core/clock.js';
import type { ErrorCode } from '../core/errors.js';
import type { RetryPolicy } from '../core/function-spec.js';
import type { Logger } from '../core/ports.js';

/** One place an event is delivered to: a ready replica of a subscribing function, or an external URL. */
export interface DeliveryTarget {
  /** The subscribing function; null for an external subscriber (`SLIMFAAS_SUBSCRIBE_EVENTS`). */
  readonly function: string | null;
  /** The replica id; null for an external subscriber. */
  readonly replica: string | null;
  /** The external subscriber's URL, as configured; absent for replicas. */
  readonly url?: string;
  readonly origin: string;
  /** Path and query sent to the target. */
  readonly path: string;
  readonly policy: RetryPolicy;
}

/** One delivery's outcome, as shown in the `Prefer: return=representation` report. */
export interface DeliveryReport {
  readonly function: string | null;
  readonly replica: string | null;
  readonly url?: string;
  /** The last attempt's status; null when no attempt got an answer. */
  readonly status: number | null;
  /** Why the last attempt got no answer (an error code of docs/errors.md); null when it got one. */
  readonly error: ErrorCode | null;
  readonly attempts: number;
  readonly durationMs: number;
}

export interface EventMessage {
  readonly method: string;
  /** Flat `[name, value, …]`, already filtered (no hop-by-hop, no Content-Length, no Expect). */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

export interface FanoutDeps {
  readonly dispatcher: (target: DeliveryTarget) => Dispatcher;
  readonly activity: ActivityTracker;
  /** The live activity feed: one `event_publish` per delivery to a replica, with `event` as its name. */
  readonly feed?: { readonly feed: ActivityFeed; readonly event: string } | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** False once a replica left the topology or stopped being ready: retrying it is pointless. */
  readonly stillTargeted: (target: DeliveryTarget) => boolean;
  /** Waits between attempts (injectable for tests). */
  readonly delay?: (ms: number) => Promise<unknown>;
}

type Attempt =
  | { readonly kind: 'answered'; readonly status: number }
  | { readonly kind: 'failed'; readonly code: ErrorCode; readonly message: string };

/** Sends `message` to every target in parallel; resolves when every delivery has finished (never rejects). */
export function deliverAll(
  deps: FanoutDeps,
  targets: readonly DeliveryTarget[],
  message: EventMessage,
): Promise<DeliveryReport[]> {
  return Promise.all(targets.map((target) => deliver(deps, target, message)));
}

/**
 * One target, with `DefaultPublish` retries (reference §1.4): an answer whose status is in
 * `HttpStatusRetries`, a connection error or a timeout is retried after the next `TimeoutRetries`
 * delay; every attempt and delay fits in one `HttpTimeout` budget. The function's activity is held for
 * the whole delivery, so a long delivery never lets it time out.
 */
async function deliver(
  deps: FanoutDeps,
  target: DeliveryTarget,
  message: EventMessage,
): Promise<DeliveryReport> {
  const startedMs = deps.clock.now();
  const deadlineMs = startedMs + target.policy.httpTimeoutSeconds * 1000;
  if (target.function !== null) deps.activity.begin(target.function);
  if (target.function !== null && deps.feed?.feed.active === true)
    deps.feed.feed.record('event_publish', target.function, target.replica ?? undefined, {
      event: deps.feed.event,
    });
  let attempts = 0;
  let last: Attempt;
  try {
    for (;;) {
      attempts++;
      last = await attempt(deps.dispatcher(target), target, message, deadlineMs - deps.clock.now());
      if (last.kind === 'answered' && !target.policy.httpStatusRetries.includes(last.status)) break;
      const delaySeconds = target.policy.timeoutRetriesSeconds[attempts - 1];
      if (delaySeconds === undefined) break;
      const delayMs = delaySeconds * 1000;
      if (deps.clock.now() + delayMs >= deadlineMs) break;
      await (deps.delay ?? sleep)(delayMs);
      if (!deps.stillTargeted(target)) break;
    }
  } finally {
    if (target.function !== null) deps.activity.end(target.function);
  }
  const report: DeliveryReport = {
    function: target.function,
    replica: target.replica,
    ...(target.url === undefined ? {} : { url: target.url }),
    status: last.kind === 'answered' ? last.status : null,
    error: last.kind === 'failed' ? last.code : null,
    attempts,
    durationMs: deps.clock.now() - startedMs,
  };
  if (last.kind === 'failed' || last.status >= 500) {
    const reason = last.kind === 'failed' ? last.message : `status ${last.status}`;
    deps.logger.warn({ ...report, reason }, 'event delivery failed');
  }
  return report;
}

async function attempt(
  dispatcher: Dispatcher,
  target: DeliveryTarget,
  message: EventMessage,
  budgetMs: number,
): Promise<Attempt> {
  if (budgetMs <= 0) return { kind: 'failed', code: 'upstream_timeout', message: 'HttpTimeout exhausted' };
  const timeout = AbortSignal.timeout(budgetMs);
  try {
    const response = await dispatcher.request({
      path: target.path,
      method: message.method,
      headers: message.headers as string[],
      body: message.body.length > 0 ? message.body : null,
      headersTimeout: budgetMs,
      bodyTimeout: budgetMs,
      signal: timeout,
    });
    // The answer is not forwarded; reading it to the end keeps the connection reusable.
    await response.body.dump({ limit: 1024 * 1024, signal: timeout });
    return { kind: 'answered', status: response.statusCode };
  } catch (error) {
    return { kind: 'failed', code: classify(error, timeout), message: (error as Error).message };
  }
}

/** Translates undici's errors (the adapter boundary) to our codes. */
function classify(error: unknown, timeout: AbortSignal): ErrorCode {
  if (timeout.aborted) return 'upstream_timeout';
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'upstream_timeout';
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'EAI_AGAIN':
      return 'upstream_unreachable';
    default:
      return 'upstream_error';
  }
}
