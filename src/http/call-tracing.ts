import type { IncomingMessage } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Replica } from '../core/topology.js';
import { formatTraceParent, parseTraceParent } from './request-id.js';

/**
 * Tracing of one sync call. Only created when tracing is on: with tracing off the function route holds no
 * `CallTracer` and makes no call at all on its hot path.
 */
export interface CallSpan {
  /** The request waits for a wake; ended by `coldStartEnd`. */
  coldStartBegin(): void;
  coldStartEnd(outcome: string): void;
  /**
   * The upstream call starts: opens a client span and returns the headers with its `traceparent` (any
   * caller `traceparent` is replaced; `tracestate` is forwarded unchanged).
   */
  upstreamBegin(replica: Replica, method: string, headers: string[]): string[];
  /** Ends the upstream span (if any) and the call's span. `status` 0: no answer was sent. */
  end(status: number, error?: Error): void;
  /** The trace id, for the request's log line. */
  readonly traceId: string;
}

export interface CallTracer {
  startCall(req: IncomingMessage, call: { functionName: string; path: string; requestId: string }): CallSpan;
}

/** A `CallTracer` on the OpenTelemetry API: server span per call, children for the cold start and upstream. */
export class OtelCallTracer implements CallTracer {
  readonly #tracer: Tracer;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  startCall(req: IncomingMessage, call: { functionName: string; path: string; requestId: string }): CallSpan {
    const method = req.method ?? 'GET';
    const q = call.path.indexOf('?');
    const span = this.#tracer.startSpan(
      `${method} /function/{name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'http.route': '/function/{name}',
          // The query string is left out, as in the request log line: it may carry secrets.
          'url.path': `/function/${call.functionName}${q === -1 ? call.path : call.path.slice(0, q)}`,
          'url.scheme': 'http',
          'network.protocol.version': req.httpVersion,
          'client.address': req.socket.remoteAddress ?? '',
          ...(req.headers['user-agent'] === undefined
            ? {}
            : { 'user_agent.original': req.headers['user-agent'] }),
          'faas.name': call.functionName,
          'slimfaas.request_id': call.requestId,
        },
      },
      parentContext(req),
    );
    return new OtelCallSpan(this.#tracer, span);
  }
}

/** The caller's `traceparent` as a remote parent, or a new trace. */
function parentContext(req: IncomingMessage): Context {
  const parent = parseTraceParent(req.headers.traceparent);
  if (parent === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.flags & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

class OtelCallSpan implements CallSpan {
  readonly #tracer: Tracer;
  readonly #span: Span;
  readonly #context: Context;
  #coldStart: Span | undefined;
  #upstream: Span | undefined;

  constructor(tracer: Tracer, span: Span) {
    this.#tracer = tracer;
    this.#span = span;
    this.#context = trace.setSpan(ROOT_CONTEXT, span);
  }

  get traceId(): string {
    return this.#span.spanContext().traceId;
  }

  coldStartBegin(): void {
    this.#coldStart = this.#tracer.startSpan('cold start wait', { kind: SpanKind.INTERNAL }, this.#context);
    this.#span.setAttribute('slimfaas.cold_start', true);
  }

  coldStartEnd(outcome: string): void {
    this.#coldStart?.setAttribute('slimfaas.wake_outcome', outcome);
    if (outcome !== 'ready') this.#coldStart?.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    this.#coldStart?.end();
    this.#coldStart = undefined;
  }

  upstreamBegin(replica: Replica, method: string, headers: string[]): string[] {
    const origin = new URL(replica.origin);
    const upstream = this.#tracer.startSpan(
      `${method}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': method,
          'server.address': origin.hostname,
          'server.port': Number(origin.port || (origin.protocol === 'https:' ? 443 : 80)),
          'url.full': replica.origin,
          'slimfaas.replica': replica.id,
        },
      },
      this.#context,
    );
    this.#upstream = upstream;
    this.#span.setAttribute('slimfaas.replica', replica.id);
    const context = upstream.spanContext();
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if ((headers[i] as string).toLowerCase() !== 'traceparent')
        out.push(headers[i] as string, headers[i + 1] as string);
    }
    out.push(
      'traceparent',
      formatTraceParent({ traceId: context.traceId, spanId: context.spanId, flags: context.traceFlags }),
    );
    return out;
  }

  end(status: number, error?: Error): void {
    this.coldStartEnd('aborted');
    for (const span of this.#upstream === undefined ? [this.#span] : [this.#upstream, this.#span]) {
      if (status > 0) span.setAttribute('http.response.status_code', status);
      if (error !== undefined) {
        span.setAttribute('error.type', (error as { code?: string }).code ?? error.name);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      } else if (status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
  }
}
