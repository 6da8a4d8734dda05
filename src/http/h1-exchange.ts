import type { Readable } from 'node:stream';
import { ChunkedDecoder } from './h1-chunked.js';
import type { ConnectionUser, H1Connection } from './h1-connection.js';
import { H1Error, H1ProtocolError } from './h1-errors.js';
import { parseResponseHead, type ResponseHead } from './h1-response-head.js';

/** The request body: none, fully received (sent with the head in one write), or streamed. */
export type H1RequestBody =
  | null
  | Buffer
  | {
      readonly stream: Readable;
      /** No Content-Length: sent with chunked coding. */ readonly chunked: boolean;
    };

export interface H1RequestOptions {
  readonly method: string;
  /** Path and query, as received (Node's parser already refused spaces and control characters). */
  readonly path: string;
  /** End-to-end fields, flat `[name, value, …]`, without `Host` (the pool adds it). */
  readonly headers: readonly string[];
  readonly body: H1RequestBody;
  /** From the request until the response head, else H1_HEADERS_TIMEOUT; 0 = none. */
  readonly headersTimeoutMs: number;
}

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
const WITH_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);

type Phase = 'head' | 'body' | 'done';

function ignore(): void {}

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
  #bodyPaused = false;
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
    const socket = connection.socket;
    if (body === null || (Buffer.isBuffer(body) && body.length === 0)) {
      socket.write(this.#headText(), 'latin1');
      this.#requestDone = true;
      return;
    }
    if (Buffer.isBuffer(body)) {
      // One buffer, one plain write: cheaper than corking a string and a buffer into a writev.
      const head = this.#headText();
      const bytes = Buffer.allocUnsafe(head.length + body.length);
      bytes.write(head, 0, 'latin1');
      body.copy(bytes, head.length);
      socket.write(bytes);
      this.#requestDone = true;
      return;
    }
    socket.write(this.#headText(), 'latin1');
    body.stream.on('data', this.#onBodyData);
    body.stream.on('end', this.#onBodyEnd);
    body.stream.on('error', this.#onBodyError);
  }

  #headText(): string {
    const { method, path, headers, body } = this.#options;
    let text = `${method} ${path} HTTP/1.1\r\nhost: ${this.#pool.authority}\r\n`;
    let hasLength = false;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      text += `${name}: ${headers[i + 1] as string}\r\n`;
    }
    if (body !== null && !Buffer.isBuffer(body) && body.chunked) text += 'transfer-encoding: chunked\r\n';
    else if (body === null && !hasLength && WITH_PAYLOAD.has(method)) text += 'content-length: 0\r\n';
    return `${text}\r\n`;
  }

  readonly #onBodyData = (chunk: Buffer): void => {
    const socket = (this.#connection as H1Connection).socket;
    const body = this.#options.body as { stream: Readable; chunked: boolean };
    let flushed: boolean;
    if (body.chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      flushed = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      flushed = socket.write(chunk);
    }
    if (!flushed) {
      this.#bodyPaused = true;
      body.stream.pause();
    }
  };

  readonly #onBodyEnd = (): void => {
    const body = this.#options.body as { stream: Readable; chunked: boolean };
    if (body.chunked) this.#connection?.socket.write('0\r\n\r\n', 'latin1');
    this.#requestDone = true;
    this.#detachBody();
  };

  readonly #onBodyError = (error: Error): void => {
    this.#fail(error);
  };

  onSocketDrain(): void {
    if (!this.#bodyPaused) return;
    this.#bodyPaused = false;
    (this.#options.body as { stream: Readable }).stream.resume();
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
    this.#handler.onResponseHead(head);
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

  /** Marks the exchange over: no timer, no request-body listeners (an unsent rest is drained away). */
  #end(): void {
    this.#phase = 'done';
    this.#clearTimer();
    if (!this.#requestDone) {
      this.#detachBody();
      const body = this.#options.body;
      if (body !== null && !Buffer.isBuffer(body)) body.stream.resume();
    }
  }

  #detachBody(): void {
    const body = this.#options.body;
    if (body === null || Buffer.isBuffer(body)) return;
    body.stream.off('data', this.#onBodyData);
    body.stream.off('end', this.#onBodyEnd);
    body.stream.off('error', this.#onBodyError);
    // A later error of a stream nobody reads any more must not crash the process.
    body.stream.on('error', ignore);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
