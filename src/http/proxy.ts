import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ErrorCode } from '../core/errors.js';
import { downstreamResponseHeaders } from './hop-by-hop.js';
import { sendError } from './error-response.js';

/** How a proxied exchange ended, for logs and metrics. */
export type ForwardOutcome =
  | { readonly kind: 'completed'; readonly status: number }
  | { readonly kind: 'failed'; readonly code: ErrorCode; readonly status: number; readonly error: Error }
  | { readonly kind: 'client-aborted'; readonly status: number };

export interface ForwardRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly dispatcher: Dispatcher;
  /** Path and query as sent upstream. */
  readonly path: string;
  readonly headers: string[];
  readonly headersTimeoutMs: number;
  readonly maxBodyBytes: number;
  /** Flat `[name, value, …]` added to the answer, an error answer included. */
  readonly extraResponseHeaders: readonly string[];
  readonly onDone: (outcome: ForwardOutcome) => void;
}

class BodyTooLargeError extends Error {
  readonly code = 'SLIMFAAS_BODY_TOO_LARGE';
}

/** Counts a chunked request body and fails once it exceeds the limit (only used without Content-Length). */
class BodyLimit extends Transform {
  #seen = 0;
  readonly #max: number;
  constructor(max: number) {
    super();
    this.#max = max;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#max) callback(new BodyTooLargeError(`request body exceeds ${this.#max} bytes`));
    else callback(null, chunk);
  }
}

/** Maps undici's errors (the adapter boundary) to our codes. */
function classify(error: Error): ErrorCode {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'upstream_timeout';
    case 'SLIMFAAS_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
      return 'upstream_unreachable';
    default:
      return 'upstream_error';
  }
}

/**
 * A request body up to this size that has fully arrived by the time it is sent (typically in the same
 * TCP read as the headers) is passed to undici as one Buffer: undici then writes headers and body with
 * one corked write and skips its stream writer (listeners, resume, destroy per request). Larger or
 * later bodies are streamed, never buffered.
 */
const SMALL_BODY_BYTES = 64 * 1024;

type UpstreamBody = IncomingMessage | Transform | Buffer | null;

function requestBody(req: IncomingMessage, maxBodyBytes: number): UpstreamBody {
  const length = req.headers['content-length'];
  if (length !== undefined) {
    if (length === '0') return null;
    // The parser never buffers more than Content-Length bytes of a message, so this much buffered is
    // the whole body. resume() lets req reach its end (the server then reuses the connection as usual).
    const expected = Number(length);
    if (expected <= SMALL_BODY_BYTES && req.readableLength === expected) {
      const body = req.read(expected) as Buffer | null;
      if (body !== null) {
        req.resume();
        return body;
      }
    }
    return req;
  }
  if (req.headers['transfer-encoding'] === undefined) return null;
  if (maxBodyBytes <= 0) return req;
  return req.pipe(new BodyLimit(maxBodyBytes));
}

/**
 * Streams one request to the upstream and the response back, both ways without buffering. Uses undici's
 * dispatch handler interface directly (no stream wrappers per request): backpressure by returning false
 * from onData and resuming on the client's 'drain'. Redirects are passed through, never followed.
 * A client that goes away aborts the upstream request.
 *
 * The request is dispatched one tick after the route handler: Node's HTTP parser pushes a body that came
 * with the headers right after the handler returns, so a small body can then be sent as one Buffer.
 */
export function forward(request: ForwardRequest): void {
  const exchange = new ProxyExchange(request);
  process.nextTick(dispatchExchange, exchange);
}

function dispatchExchange(exchange: ProxyExchange): void {
  exchange.dispatch();
}

/** One proxied exchange; it is its own undici handler (methods, not per-request closures). */
class ProxyExchange implements Dispatcher.DispatchHandler {
  readonly #request: ForwardRequest;
  readonly #res: ServerResponse;
  #abortUpstream: ((error?: Error) => void) | undefined;
  #finished = false;
  #status = 0;
  #resume: (() => void) | undefined;
  readonly #onClientClose = (): void => {
    if (this.#finished || this.#res.writableFinished) return;
    this.#abortUpstream?.(new Error('client aborted'));
    this.#finish({ kind: 'client-aborted', status: 499 });
  };

  constructor(request: ForwardRequest) {
    this.#request = request;
    this.#res = request.res;
    this.#res.on('close', this.#onClientClose);
  }

  dispatch(): void {
    const request = this.#request;
    if (this.#finished) return;
    request.dispatcher.dispatch(
      {
        path: request.path,
        method: request.req.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: requestBody(request.req, request.maxBodyBytes),
        headersTimeout: request.headersTimeoutMs,
        bodyTimeout: 0,
      },
      this,
    );
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abortUpstream = abort;
    if (this.#res.destroyed) abort(new Error('client aborted'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.#status = statusCode;
    this.#res.writeHead(
      statusCode,
      downstreamResponseHeaders(rawHeaders, this.#request.extraResponseHeaders),
    );
    this.#resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#res.write(chunk)) return true;
    // Backpressure: undici pauses until the client has drained.
    if (this.#resume !== undefined) this.#res.once('drain', this.#resume);
    return false;
  }

  onComplete(): void {
    this.#res.end();
    this.#finish({ kind: 'completed', status: this.#status });
  }

  onError(error: Error): void {
    if (this.#finished) return;
    const res = this.#res;
    const code = classify(error);
    if (res.headersSent) {
      res.destroy(error);
    } else {
      if (code === 'body_too_large') res.setHeader('connection', 'close');
      const extra = this.#request.extraResponseHeaders;
      for (let i = 0; i + 1 < extra.length; i += 2) res.setHeader(extra[i] as string, extra[i + 1] as string);
      sendError(res, code, upstreamMessage(code, error));
    }
    // Before the upstream answered, the status is that of the error answer just sent (502, 504, 413).
    this.#finish({ kind: 'failed', code, status: this.#status !== 0 ? this.#status : res.statusCode, error });
  }

  #finish(outcome: ForwardOutcome): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#res.off('close', this.#onClientClose);
    this.#request.onDone(outcome);
  }
}

function upstreamMessage(code: ErrorCode, error: Error): string {
  switch (code) {
    case 'upstream_timeout':
      return 'the function did not start answering within DefaultSync.HttpTimeout';
    case 'upstream_unreachable':
      return `the function replica could not be reached (${error.message})`;
    case 'body_too_large':
      return error.message;
    default:
      return `the function replica failed: ${error.message}`;
  }
}
