import type { IncomingMessage } from 'node:http';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/ports.js';
import type { FunctionState } from '../core/topology.js';
import type { ForwardOutcome } from './proxy.js';
import type { RequestId } from './request-id.js';

/** `SLIMFAAS_REQUEST_LOG_LEVEL`: the level of the one line per proxied request, or none. */
export type RequestLogLevel = 'info' | 'debug' | 'off';

export type LoggedOutcome =
  | ForwardOutcome
  | { readonly kind: 'client-aborted' }
  | { readonly kind: 'no-replica'; readonly status: number };

export interface SyncCallLogDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly requestLogLevel: RequestLogLevel;
}

export interface LoggedExchange {
  readonly req: IncomingMessage;
  readonly fn: FunctionState;
  readonly path: string;
  readonly startedMs: number;
  readonly requestId: RequestId;
  readonly coldStart?: boolean;
  readonly span?: { readonly traceId: string } | undefined;
}

/**
 * The one line per proxied sync call (docs/observability.md lists its fields). A failed upstream exchange
 * (502/504/413 from SlimFaas, or a cut answer) is logged at `warn` whatever the request level, even `off`;
 * everything else at the configured level. The path is logged without its query string (it may carry
 * secrets).
 */
export function logSyncCall(
  deps: SyncCallLogDeps,
  exchange: LoggedExchange,
  outcome: LoggedOutcome,
  replica?: string,
): void {
  const level = outcome.kind === 'failed' ? 'warn' : deps.requestLogLevel;
  if (level === 'off' || !deps.logger.isLevelEnabled(level)) return;
  const q = exchange.path.indexOf('?');
  const entry = {
    requestId: exchange.requestId.id,
    method: exchange.req.method,
    function: exchange.fn.spec.name,
    path: q === -1 ? exchange.path : exchange.path.slice(0, q),
    status: 'status' in outcome ? outcome.status : 499,
    durationMs: deps.clock.now() - exchange.startedMs,
    replica: replica ?? null,
    coldStart: exchange.coldStart === true,
    outcome: outcome.kind,
    ...(exchange.span === undefined ? {} : { traceId: exchange.span.traceId }),
    ...(outcome.kind === 'failed' ? { error: outcome.error.message } : {}),
  };
  deps.logger[level](entry, 'sync call');
}
