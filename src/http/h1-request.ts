import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** The request body: none, fully received (sent with the head in one write), or streamed. */
export type H1RequestBody =
  | null
  | Buffer
  | {
      readonly stream: Readable;
      /** No Content-Length: sent with chunked coding. */
      readonly chunked: boolean;
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

const WITH_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);

/** The request line and header section (RFC 9112 §3, §5), with the framing field the body needs. */
export function requestHeadText(options: H1RequestOptions, authority: string): string {
  const { method, path, headers, body } = options;
  let text = `${method} ${path} HTTP/1.1\r\nhost: ${authority}\r\n`;
  let hasLength = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
    text += `${name}: ${headers[i + 1] as string}\r\n`;
  }
  if (body !== null && !Buffer.isBuffer(body) && body.chunked) text += 'transfer-encoding: chunked\r\n';
  // As undici did: a method that carries content says so even when the body is empty.
  else if (body === null && !hasLength && WITH_PAYLOAD.has(method)) text += 'content-length: 0\r\n';
  return `${text}\r\n`;
}

/** Writes the head and a fully received body as one buffer: one plain write, no cork/writev. */
export function writeWholeRequest(socket: Socket, head: string, body: Buffer | null): void {
  if (body === null || body.length === 0) {
    socket.write(head, 'latin1');
    return;
  }
  const bytes = Buffer.allocUnsafe(head.length + body.length);
  bytes.write(head, 0, 'latin1');
  body.copy(bytes, head.length);
  socket.write(bytes);
}

function ignore(): void {}

/**
 * Pumps a streamed request body into the upstream socket (chunk-coded when `chunked`), pausing the body
 * while the socket's buffer is full. `onEnd` / `onError` report the body's end or failure.
 */
export class StreamedBody {
  readonly #stream: Readable;
  readonly #chunked: boolean;
  readonly #socket: Socket;
  readonly #onEnd: () => void;
  readonly #onError: (error: Error) => void;
  #paused = false;
  #ended = false;

  constructor(options: {
    stream: Readable;
    chunked: boolean;
    socket: Socket;
    onEnd: () => void;
    onError: (error: Error) => void;
  }) {
    this.#stream = options.stream;
    this.#chunked = options.chunked;
    this.#socket = options.socket;
    this.#onEnd = options.onEnd;
    this.#onError = options.onError;
    this.#stream.on('data', this.#data);
    this.#stream.on('end', this.#end);
    this.#stream.on('error', this.#onError);
  }

  /** The socket drained: read on. */
  drain(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#stream.resume();
  }

  /** Stops pumping; an unfinished body is read and dropped so the client connection stays usable. */
  detach(): void {
    this.#stream.off('data', this.#data);
    this.#stream.off('end', this.#end);
    this.#stream.off('error', this.#onError);
    // A later error of a stream nobody reads any more must not crash the process.
    this.#stream.on('error', ignore);
    if (!this.#ended) this.#stream.resume();
  }

  readonly #data = (chunk: Buffer): void => {
    const socket = this.#socket;
    let flushed: boolean;
    if (this.#chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      flushed = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      flushed = socket.write(chunk);
    }
    if (!flushed) {
      this.#paused = true;
      this.#stream.pause();
    }
  };

  readonly #end = (): void => {
    this.#ended = true;
    if (this.#chunked) this.#socket.write('0\r\n\r\n', 'latin1');
    this.detach();
    this.#onEnd();
  };
}
