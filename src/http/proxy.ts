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

function requestBody(req: IncomingMessage, maxBodyBytes: number): IncomingMessage | Transform | null {
  const length = req.headers['content-length'];
  if (length !== undefined) return length === '0' ? null : req;
  if (req.headers['transfer-encoding'] === undefined) return null;
  if (maxBodyBytes <= 0) return req;
  return req.pipe(new BodyLimit(maxBodyBytes));
}

/**
 * Streams one request to the upstream and the response back, both ways without buffering. Uses undici's
 * dispatch handler interface directly (no stream wrappers per request): backpressure by returning false
 * from onData and resuming on the client's 'drain'. Redirects are passed through, never followed.
 * A client that goes away aborts the upstream request.
 */
export function forward(request: ForwardRequest): void {
  const { req, res } = request;
  let abortUpstream: ((error?: Error) => void) | undefined;
  let finished = false;
  let status = 0;
  const finish = (outcome: ForwardOutcome): void => {
    if (finished) return;
    finished = true;
    res.off('close', onClientClose);
    request.onDone(outcome);
  };
  const onClientClose = (): void => {
    if (finished || res.writableFinished) return;
    abortUpstream?.(new Error('client aborted'));
    finish({ kind: 'client-aborted', status: 499 });
  };
  res.on('close', onClientClose);

  const handler: Dispatcher.DispatchHandler = {
    onConnect(abort) {
      abortUpstream = abort;
      if (res.destroyed) abort(new Error('client aborted'));
    },
    onHeaders(statusCode, rawHeaders, resume) {
      if (statusCode < 200) return true;
      status = statusCode;
      res.writeHead(statusCode, downstreamResponseHeaders(rawHeaders, request.extraResponseHeaders));
      res.on('drain', resume);
      return true;
    },
    onData(chunk) {
      return res.write(chunk);
    },
    onComplete() {
      res.end();
      finish({ kind: 'completed', status });
    },
    onError(error) {
      if (finished) return;
      const code = classify(error);
      if (res.headersSent) {
        res.destroy(error);
      } else {
        if (code === 'body_too_large') res.setHeader('connection', 'close');
        const extra = request.extraResponseHeaders;
        for (let i = 0; i + 1 < extra.length; i += 2)
          res.setHeader(extra[i] as string, extra[i + 1] as string);
        sendError(res, code, upstreamMessage(code, error));
      }
      // Before the upstream answered, the status is that of the error answer just sent (502, 504, 413).
      finish({ kind: 'failed', code, status: status !== 0 ? status : res.statusCode, error });
    },
  };

  request.dispatcher.dispatch(
    {
      path: request.path,
      method: req.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: requestBody(req, request.maxBodyBytes),
      headersTimeout: request.headersTimeoutMs,
      bodyTimeout: 0,
    },
    handler,
  );
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
