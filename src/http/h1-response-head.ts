import { H1ProtocolError } from './h1-errors.js';

/**
 * The response-head parser of the proxy's HTTP/1.1 client (h1-exchange.ts). It reads one status line and
 * its header fields from a buffer and decides how the body is framed (RFC 9112 §6.3). It is strict on
 * purpose: a pooled socket must never desynchronise, so anything ambiguous is an error (the proxy answers
 * 502 and closes that socket) rather than a guess.
 */

/** How the body after the head is delimited. */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly bytes: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

export interface ResponseHead {
  readonly status: number;
  /** Flat `[name, value, …]` exactly as received (names keep their case). */
  readonly headers: string[];
  /** The `Connection` field's value, if any. */
  readonly connection: string | undefined;
  readonly framing: BodyFraming;
  /** False when the server asked to close (or spoke HTTP/1.0): the socket is not reused. */
  readonly keepAlive: boolean;
  /** Bytes of `buffer` consumed by the head, from `start`. */
  readonly headBytes: number;
}

/** A head longer than this is refused (Node's own server refuses beyond 16 KiB by default). */
export const MAX_HEAD_BYTES = 64 * 1024;

const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/;
/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values may hold HTAB, SP, visible ASCII and obs-text; any other control character is refused. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^\d{1,15}$/;

/**
 * Parses the head starting at `start`. Returns undefined while the head is incomplete; throws
 * H1ProtocolError on anything malformed or too long.
 */
export function parseResponseHead(
  buffer: Buffer,
  start: number,
  requestMethod: string,
): ResponseHead | undefined {
  const end = buffer.indexOf(CRLF_CRLF, start);
  if (end === -1) {
    if (buffer.length - start > MAX_HEAD_BYTES) throw new H1ProtocolError('response head too long');
    return undefined;
  }
  if (end - start > MAX_HEAD_BYTES) throw new H1ProtocolError('response head too long');
  const lines = buffer.toString('latin1', start, end).split('\r\n');
  const statusMatch = STATUS_LINE.exec(lines[0] as string);
  if (statusMatch === null) throw new H1ProtocolError('malformed status line');
  const http10 = statusMatch[1] === '0';
  const status = Number(statusMatch[2]);
  const fields = readFields(lines);
  const framing = framingOf(status, requestMethod, fields);
  const keepAlive = !http10 && !hasCloseToken(fields.connection) && framing.kind !== 'close';
  return {
    status,
    headers: fields.headers,
    connection: fields.connection,
    framing,
    keepAlive,
    headBytes: end + 4 - start,
  };
}

interface Fields {
  readonly headers: string[];
  connection: string | undefined;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
}

function readFields(lines: readonly string[]): Fields {
  const fields: Fields = {
    headers: [],
    connection: undefined,
    contentLength: undefined,
    transferEncoding: undefined,
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    // No colon, an empty name, whitespace before the colon (RFC 9112 §5.1) or obs-fold (§5.2): refused.
    if (colon <= 0) throw new H1ProtocolError('malformed header line');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new H1ProtocolError('malformed header name');
    const value = trimOws(line, colon + 1);
    if (BAD_VALUE_CHAR.test(value)) throw new H1ProtocolError('invalid character in a header value');
    fields.headers.push(name, value);
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      fields.connection = fields.connection === undefined ? value : `${fields.connection}, ${value}`;
    } else if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (fields.contentLength !== undefined && fields.contentLength !== value) {
        throw new H1ProtocolError('conflicting Content-Length fields');
      }
      fields.contentLength = value;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      fields.transferEncoding =
        fields.transferEncoding === undefined ? value : `${fields.transferEncoding}, ${value}`;
    }
  }
  return fields;
}

/** RFC 9112 §6.3, minus what a proxy must not guess at: TE and CL together, or a TE other than chunked. */
function framingOf(status: number, method: string, fields: Fields): BodyFraming {
  if (status < 200) return { kind: 'none' };
  if (fields.transferEncoding !== undefined && fields.contentLength !== undefined) {
    throw new H1ProtocolError('both Transfer-Encoding and Content-Length');
  }
  if (method === 'HEAD' || status === 204 || status === 304) return { kind: 'none' };
  if (fields.transferEncoding !== undefined) {
    if (fields.transferEncoding.trim().toLowerCase() !== 'chunked') {
      throw new H1ProtocolError(`unsupported Transfer-Encoding "${fields.transferEncoding}"`);
    }
    return { kind: 'chunked' };
  }
  if (fields.contentLength !== undefined) {
    if (!DIGITS.test(fields.contentLength)) throw new H1ProtocolError('invalid Content-Length');
    return { kind: 'length', bytes: Number(fields.contentLength) };
  }
  return { kind: 'close' };
}

function hasCloseToken(connection: string | undefined): boolean {
  if (connection === undefined) return false;
  for (const token of connection.split(',')) {
    if (token.trim().toLowerCase() === 'close') return true;
  }
  return false;
}

/** Strips optional whitespace (SP, HTAB) around a field value; `String#trim` would also eat U+00A0. */
function trimOws(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && isOws(line.charCodeAt(start))) start++;
  while (end > start && isOws(line.charCodeAt(end - 1))) end--;
  return line.slice(start, end);
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}
