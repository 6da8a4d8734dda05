import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { ErrorCode } from '../core/errors.js';
import type { H1Exchange, H1RequestBody, H1ResponseHandler } from './h1-exchange.js';
import type { H1Pool } from './h1-pool.js';
import type { ResponseHead } from './h1-response-head.js';
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
  /** The keep-alive sockets to the chosen replica. */
  readonly pool: H1Pool;
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

/** Maps the HTTP client's errors (the adapter boundary) to our codes. */
function classify(error: Error): ErrorCode {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'H1_HEADERS_TIMEOUT':
      return 'upstream_timeout';
    case 'SLIMFAAS_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'H1_SOCKET':
    case 'H1_CLOSED':
    case 'H1_CONNECT_TIMEOUT':
    case 'H1_ABORTED':
      return 'upstream_unreachable';
    default:
      return 'upstream_error';
  }
}

/**
 * A request body up to this size that has fully arrived by the time it is sent (typically in the same
 * TCP read as the headers) is sent as one Buffer together with the head, in one write, with no stream
 * listeners per request. Larger or later bodies are streamed, never buffered.
 */
const SMALL_BODY_BYTES = 64 * 1024;

/** A whole answer body up to this size is handed to Node as a latin1 string (see onResponseEnd). */
const SMALL_LAST_BYTES = 16 * 1024;

function requestBody(req: IncomingMessage, maxBodyBytes: number): H1RequestBody {
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
    return { stream: req, chunked: false };
  }
  if (req.headers['transfer-encoding'] === undefined) return null;
  if (maxBodyBytes <= 0) return { stream: req, chunked: true };
  return { stream: req.pipe(new BodyLimit(maxBodyBytes)), chunked: true };
}

/**
 * Streams one request to the upstream and the response back, both ways without buffering, on the sync
 * proxy's own HTTP/1.1 client (h1-exchange.ts; docs/decisions.md D11): backpressure by pausing the upstream
 * socket until the client's 'drain'. Redirects are passed through, never followed. A client that goes away
 * aborts the upstream request (its socket is closed, never reused).
 *
 * The request is sent one tick after the route handler: Node's HTTP parser pushes a body that came with
 * the headers right after the handler returns, so a small body can then leave with the head in one write.
 */
export function forward(request: ForwardRequest): void {
  const exchange = new ProxyExchange(request);
  process.nextTick(sendExchange, exchange);
}

function sendExchange(exchange: ProxyExchange): void {
  exchange.send();
}

/** One proxied exchange; it is its own response handler (methods, not per-request closures). */
class ProxyExchange implements H1ResponseHandler {
  readonly #request: ForwardRequest;
  readonly #res: ServerResponse;
  #upstream: H1Exchange | undefined;
  #finished = false;
  #status = 0;
  readonly #onClientClose = (): void => {
    if (this.#finished || this.#res.writableFinished) return;
    this.#upstream?.abort();
    this.#finish({ kind: 'client-aborted', status: 499 });
  };
  #waitingForDrain = false;
  readonly #onClientDrain = (): void => {
    this.#waitingForDrain = false;
    this.#upstream?.resume();
  };

  constructor(request: ForwardRequest) {
    this.#request = request;
    this.#res = request.res;
    this.#res.on('close', this.#onClientClose);
  }

  send(): void {
    const request = this.#request;
    if (this.#finished) return;
    try {
      this.#upstream = request.pool.request(
        {
          method: request.req.method ?? 'GET',
          path: request.path,
          headers: request.headers,
          body: requestBody(request.req, request.maxBodyBytes),
          headersTimeoutMs: request.headersTimeoutMs,
        },
        this,
      );
    } catch (error) {
      this.onResponseError(error as Error);
    }
  }

  onResponseHead(head: ResponseHead): void {
    this.#status = head.status;
    this.#res.writeHead(
      head.status,
      downstreamResponseHeaders(head.headers, head.connection, this.#request.extraResponseHeaders),
    );
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.#res.write(chunk)) return true;
    // Backpressure: the upstream socket pauses until the client has drained.
    if (!this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.#res.once('drain', this.#onClientDrain);
    }
    return false;
  }

  onResponseEnd(last?: Buffer): void {
    if (last !== undefined && last.length <= SMALL_LAST_BYTES && !this.#res.headersSent) {
      // Node's ServerResponse joins its head and a first latin1 *string* into one plain write (a Buffer
      // would make a two-part writev). latin1 maps bytes 1:1, so the body is sent unchanged.
      this.#res.end(last.toString('latin1'), 'latin1');
    } else {
      this.#res.end(last);
    }
    this.#finish({ kind: 'completed', status: this.#status });
  }

  onResponseError(error: Error): void {
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
