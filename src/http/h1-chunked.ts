import { H1ProtocolError } from './h1-errors.js';

/** A chunk-size line (with extensions) or a trailer section longer than this is refused. */
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;
/** RFC 9112 §7.1: hex size, then optional extensions (ignored). 13 hex digits stay below 2^53. */
const SIZE_LINE = /^([0-9a-fA-F]{1,13})[ \t]*(?:;[^\r\n]*)?$/;

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

/**
 * Decodes a chunked body (RFC 9112 §7.1) across reads. Chunk data is passed on as slices of the input
 * (never copied); extensions and trailer fields are dropped. Malformed framing throws H1ProtocolError.
 */
export class ChunkedDecoder {
  #state: State = 'size';
  #remaining = 0;
  #line = '';
  #trailerBytes = 0;

  get done(): boolean {
    return this.#state === 'done';
  }

  /**
   * Consumes `buffer` from `offset`; returns the offset just after the body's last byte once it is
   * complete, or -1 when all of `buffer` was consumed and more is needed.
   */
  push(buffer: Buffer, offset: number, onData: (chunk: Buffer) => void): number {
    let i = offset;
    while (i < buffer.length) {
      switch (this.#state) {
        case 'size':
        case 'trailer':
        case 'data-end':
          i = this.#readLine(buffer, i);
          break;
        case 'data': {
          const take = Math.min(this.#remaining, buffer.length - i);
          onData(buffer.subarray(i, i + take));
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = 'data-end';
          break;
        }
        case 'done':
          return i;
      }
      if (this.done) return i;
    }
    return -1;
  }

  /** Reads up to the end of the current line; handles the completed line. Returns the next offset. */
  #readLine(buffer: Buffer, from: number): number {
    const lf = buffer.indexOf(10, from);
    const end = lf === -1 ? buffer.length : lf;
    this.#line += buffer.toString('latin1', from, end);
    if (this.#line.length > MAX_LINE_BYTES) throw new H1ProtocolError('chunk line too long');
    if (lf === -1) return buffer.length;
    const line = this.#line;
    this.#line = '';
    if (!line.endsWith('\r') || line.indexOf('\r') !== line.length - 1) {
      throw new H1ProtocolError('chunk line not ended by CRLF');
    }
    this.#onLine(line.slice(0, -1));
    return lf + 1;
  }

  #onLine(line: string): void {
    switch (this.#state) {
      case 'data-end':
        if (line !== '') throw new H1ProtocolError('chunk data longer than its size');
        this.#state = 'size';
        return;
      case 'size': {
        const match = SIZE_LINE.exec(line);
        if (match === null) throw new H1ProtocolError('invalid chunk size');
        this.#remaining = Number.parseInt(match[1] as string, 16);
        this.#state = this.#remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'trailer':
        if (line === '') {
          this.#state = 'done';
          return;
        }
        this.#trailerBytes += line.length + 2;
        if (this.#trailerBytes > MAX_TRAILER_BYTES) throw new H1ProtocolError('trailer section too long');
        if (line.indexOf(':') <= 0) throw new H1ProtocolError('malformed trailer field');
        return;
      default:
        return;
    }
  }
}
