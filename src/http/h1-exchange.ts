import { ChunkedDecoder } from './h1-chunked.js';
import type { ConnectionUser, H1Connection } from './h1-connection.js';
import { H1Error, H1ProtocolError } from './h1-errors.js';
import { requestHeadText, StreamedBody, writeWholeRequest, type H1RequestOptions } from './h1-request.js';
import { parseResponseHead, type ResponseHead } from './h1-response-head.js';

export type { H1RequestBody, H1RequestOptions } from './h1-request.js';

/** How an exchange reports; exactly one of `onResponseEnd` / `onResponseError` ends it (not after abort). */
export interface H1ResponseHandler {
  /** The final (non-1xx) head. */
  onResponseHead(head: ResponseHead): void;
  /** A piece of the decoded body; returning false pauses the socket until `resume()`. */
  onResponseData(chunk: Buffer): boolean;
  /** The body is complete; `last` is its final piece when that came in the same read (not passed to onResponseData). */
  onResponseEnd(last?: Buffer): void;
  onResponseError(error: Error): void;
}

export interface ExchangePool {
  readonly authority: string;
  acquire(fresh?: boolean): H1Connection;
  release(connection: H1Connection): void;
}

/** RFC 9110 §9.2.2: a client may retry these automatically. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

type Phase = 'head' | 'body' | 'done';

/**
 * One request/response on a pooled socket. The head and a small body leave in one write; the response
 * head is parsed strictly, then the body is passed on as it arrives (Content-Length, chunked, or up to the
 * close), with backpressure both ways. An idempotent request with a replayable body that fails on a
 * reused socket before any response byte (the server closed it while idle) is retried once on a new one.
 */
export class H1Exchange implements ConnectionUser {
  readonly #pool: ExchangePool;
  readonly #options: H1RequestOptions;
  readonly #handler: H1ResponseHandler;
  #connection: H1Connection | undefined;
  #phase: Phase = 'head';
  #timer: NodeJS.Timeout | undefined;
  #partial: Buffer | undefined;
  #head: ResponseHead | undefined;
  #remaining = 0;
  #chunked: ChunkedDecoder | undefined;
  #requestDone = false;
  #responseBytes = false;
  #retried = false;
  #paused = false;
  #streamed: StreamedBody | undefined;
  /** Uses of the socket this exchange last started on, counting this one. */
  #connectionUses = 0;

  constructor(pool: ExchangePool, options: H1RequestOptions, handler: H1ResponseHandler) {
    this.#pool = pool;
    this.#options = options;
    this.#handler = handler;
    if (options.headersTimeoutMs > 0) {
      this.#timer = setTimeout(() => this.#onHeadersTimeout(), options.headersTimeoutMs);
    }
  }

  /** Puts the exchange on `connection` (a new socket starts it once connected). */
  attach(connection: H1Connection): void {
    this.#connection = connection;
    connection.user = this;
    if (connection.connected) this.start();
  }

  /** Resumes reading the response after `onResponseData` returned false. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#connection?.socket.resume();
  }

  /** Stops the exchange without a callback (the client went away): the socket is closed. */
  abort(): void {
    if (this.#phase === 'done') return;
    this.#end();
    this.#connection?.close();
    this.#connection = undefined;
  }

  start(): void {
    const connection = this.#connection as H1Connection;
    this.#connectionUses = ++connection.uses;
    const { body } = this.#options;
    const head = requestHeadText(this.#options, this.#pool.authority);
    if (body === null || Buffer.isBuffer(body)) {
      writeWholeRequest(connection.socket, head, body);
      this.#requestDone = true;
      return;
    }
    connection.socket.write(head, 'latin1');
    this.#streamed = new StreamedBody({
      stream: body.stream,
      chunked: body.chunked,
      socket: connection.socket,
      onEnd: () => {
        this.#requestDone = true;
        this.#streamed = undefined;
      },
      onError: (error) => this.#fail(error),
    });
  }

  onSocketDrain(): void {
    this.#streamed?.drain();
  }

  onSocketData(chunk: Buffer): void {
    this.#responseBytes = true;
    if (this.#phase === 'body') {
      this.#onBody(chunk, 0);
      return;
    }
    if (this.#phase !== 'head') return;
    const buffer = this.#partial === undefined ? chunk : Buffer.concat([this.#partial, chunk]);
    this.#partial = undefined;
    let offset = 0;
    for (;;) {
      let head: ResponseHead | undefined;
      try {
        head = parseResponseHead(buffer, offset, this.#options.method);
      } catch (error) {
        this.#fail(error as Error);
        return;
      }
      if (head === undefined) {
        this.#partial = buffer.subarray(offset);
        return;
      }
      offset += head.headBytes;
      if (head.status >= 200) {
        this.#onHead(head);
        break;
      }
      // 1xx (100 Continue, 103 Early Hints) are skipped; 101 would switch protocols, which we never ask.
      if (head.status === 101) {
        this.#fail(new H1ProtocolError('101 Switching Protocols without an upgrade request'));
        return;
      }
    }
    // #onHead may have ended the exchange (the handler aborted it).
    if (this.#inBody()) this.#onBody(buffer, offset);
  }

  #inBody(): boolean {
    return this.#phase === 'body';
  }

  #onHead(head: ResponseHead): void {
    this.#clearTimer();
    this.#head = head;
    this.#phase = 'body';
    if (head.framing.kind === 'length') this.#remaining = head.framing.bytes;
    else if (head.framing.kind === 'chunked') this.#chunked = new ChunkedDecoder();
    try {
      this.#handler.onResponseHead(head);
    } catch (error) {
      // Never let a handler's throw escape into the socket's 'data' event (it would crash the process).
      this.#fail(error as Error);
    }
  }

  #onBody(buffer: Buffer, offset: number): void {
    const framing = (this.#head as ResponseHead).framing;
    switch (framing.kind) {
      case 'none':
        this.#complete(offset === buffer.length);
        return;
      case 'length': {
        const take = Math.min(this.#remaining, buffer.length - offset);
        this.#remaining -= take;
        const piece =
          offset === 0 && take === buffer.length ? buffer : buffer.subarray(offset, offset + take);
        // The final piece goes with the end, so the client's answer can leave in one write.
        if (this.#remaining === 0)
          this.#complete(offset + take === buffer.length, take > 0 ? piece : undefined);
        else if (take > 0) this.#deliver(piece);
        return;
      }
      case 'chunked': {
        let end: number;
        try {
          end = (this.#chunked as ChunkedDecoder).push(buffer, offset, this.#deliverChunk);
        } catch (error) {
          this.#fail(error as Error);
          return;
        }
        if (end !== -1 && this.#phase === 'body') this.#complete(end === buffer.length);
        return;
      }
      case 'close':
        if (offset < buffer.length) this.#deliver(offset === 0 ? buffer : buffer.subarray(offset));
    }
  }

  readonly #deliverChunk = (chunk: Buffer): void => {
    if (this.#phase === 'body') this.#deliver(chunk);
  };

  #deliver(chunk: Buffer): void {
    if (this.#handler.onResponseData(chunk) || this.#paused || this.#phase !== 'body') return;
    this.#paused = true;
    this.#connection?.socket.pause();
  }

  /** The response is complete; the socket goes back to the pool if nothing is left half-done on it. */
  #complete(nothingLeft: boolean, last?: Buffer): void {
    const connection = this.#connection as H1Connection;
    const reusable = nothingLeft && this.#requestDone && (this.#head as ResponseHead).keepAlive;
    this.#end();
    this.#connection = undefined;
    if (reusable) {
      if (this.#paused) connection.socket.resume();
      connection.user = undefined;
      this.#pool.release(connection);
    } else {
      connection.close();
    }
    this.#handler.onResponseEnd(last);
  }

  onConnectionFailed(error: H1Error): void {
    this.#connection = undefined;
    if (this.#phase === 'done') return;
    const head = this.#head;
    if (head !== undefined && head.framing.kind === 'close' && error.code === 'H1_CLOSED') {
      this.#end();
      this.#handler.onResponseEnd();
      return;
    }
    if (this.#canRetry()) {
      this.#retried = true;
      this.#partial = undefined;
      this.#attachFresh();
      return;
    }
    this.#fail(error);
  }

  #canRetry(): boolean {
    const { body, method } = this.#options;
    return (
      !this.#retried &&
      !this.#responseBytes &&
      this.#connectionUses > 1 &&
      (body === null || Buffer.isBuffer(body)) &&
      IDEMPOTENT.has(method)
    );
  }

  #attachFresh(): void {
    try {
      this.attach(this.#pool.acquire(true));
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  #onHeadersTimeout(): void {
    this.#timer = undefined;
    this.#fail(
      new H1Error('H1_HEADERS_TIMEOUT', `no response head within ${this.#options.headersTimeoutMs} ms`),
    );
  }

  #fail(error: Error): void {
    if (this.#phase === 'done') return;
    this.#end();
    this.#connection?.close();
    this.#connection = undefined;
    this.#handler.onResponseError(error);
  }

  /** Marks the exchange over: no timer, no request-body pumping (an unsent rest is drained away). */
  #end(): void {
    this.#phase = 'done';
    this.#clearTimer();
    this.#streamed?.detach();
    this.#streamed = undefined;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
