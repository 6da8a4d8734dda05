import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type { Context, Span, Tracer } from '@opentelemetry/api';
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

type Api = typeof OtelApi;
let loadedApi: Api | undefined;

/**
 * `@opentelemetry/api`, loaded on first use: only a SlimFaas with tracing on makes an `OtelCallTracer`, and the
 * others should not pay for its code in memory (bench/README.md, idle RSS). Its CommonJS build,
 * the one the OpenTelemetry SDK (tracing.ts) requires, so both share one API instance.
 */
function otelApi(): Api {
  loadedApi ??= createRequire(import.meta.url)('@opentelemetry/api') as Api;
  return loadedApi;
}

/** A `CallTracer` on the OpenTelemetry API: server span per call, children for the cold start and upstream. */
export class OtelCallTracer implements CallTracer {
  readonly #tracer: Tracer;
  readonly #api: Api;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
    this.#api = otelApi();
  }

  startCall(req: IncomingMessage, call: { functionName: string; path: string; requestId: string }): CallSpan {
    const { SpanKind } = this.#api;
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
      parentContext(this.#api, req),
    );
    return new OtelCallSpan(this.#api, this.#tracer, span);
  }
}

/** The caller's `traceparent` as a remote parent, or a new trace. */
function parentContext({ ROOT_CONTEXT, TraceFlags, trace }: Api, req: IncomingMessage): Context {
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
  readonly #api: Api;
  readonly #tracer: Tracer;
  readonly #span: Span;
  readonly #context: Context;
  #coldStart: Span | undefined;
  #upstream: Span | undefined;

  constructor(api: Api, tracer: Tracer, span: Span) {
    this.#api = api;
    this.#tracer = tracer;
    this.#span = span;
    this.#context = api.trace.setSpan(api.ROOT_CONTEXT, span);
  }

  get traceId(): string {
    return this.#span.spanContext().traceId;
  }

  coldStartBegin(): void {
    const kind = this.#api.SpanKind.INTERNAL;
    this.#coldStart = this.#tracer.startSpan('cold start wait', { kind }, this.#context);
    this.#span.setAttribute('slimfaas.cold_start', true);
  }

  coldStartEnd(outcome: string): void {
    this.#coldStart?.setAttribute('slimfaas.wake_outcome', outcome);
    if (outcome !== 'ready') {
      this.#coldStart?.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: outcome });
    }
    this.#coldStart?.end();
    this.#coldStart = undefined;
  }

  upstreamBegin(replica: Replica, method: string, headers: string[]): string[] {
    const origin = new URL(replica.origin);
    const upstream = this.#tracer.startSpan(
      `${method}`,
      {
        kind: this.#api.SpanKind.CLIENT,
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
    const { SpanStatusCode } = this.#api;
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
