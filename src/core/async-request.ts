/**
 * An async request as stored in the queue: everything needed to replay it exactly later — method, path
 * with query, end-to-end headers (raw order and case), body — in one compact binary value:
 * `[u32 big-endian length of the JSON head][JSON head {m, p, h}][body bytes]`.
 */
export interface StoredRequest {
  readonly method: string;
  /** Path and query as the function receives them (`/hello?x=1`). */
  readonly path: string;
  /** Flat `[name, value, name, value, …]`, hop-by-hop fields already removed. */
  readonly headers: readonly string[];
  readonly body: Uint8Array;
}

export function encodeStoredRequest(request: StoredRequest): Uint8Array {
  const head = Buffer.from(
    JSON.stringify({ m: request.method, p: request.path, h: request.headers }),
    'utf8',
  );
  const out = Buffer.allocUnsafe(4 + head.length + request.body.length);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  out.set(request.body, 4 + head.length);
  return out;
}

/** Throws a RangeError/SyntaxError for a value that is not an encoded request. */
export function decodeStoredRequest(value: Uint8Array): StoredRequest {
  const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const headLength = buffer.readUInt32BE(0);
  if (4 + headLength > buffer.length) throw new RangeError('stored request: truncated head');
  const head = JSON.parse(buffer.subarray(4, 4 + headLength).toString('utf8')) as {
    m?: unknown;
    p?: unknown;
    h?: unknown;
  };
  if (typeof head.m !== 'string' || typeof head.p !== 'string' || !Array.isArray(head.h)) {
    throw new SyntaxError('stored request: malformed head');
  }
  return {
    method: head.m,
    path: head.p,
    headers: head.h.map(String),
    body: buffer.subarray(4 + headLength),
  };
}

/** The stored `X-Request-Id` (SlimFaas stores one with every async request), for log lines. */
export function storedRequestId(request: Pick<StoredRequest, 'headers'>): string | undefined {
  const headers = request.headers;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === 'x-request-id') return headers[i + 1];
  }
  return undefined;
}

/** `storedRequestId` of an encoded request; undefined when it cannot be decoded. */
export function storedRequestIdOf(value: Uint8Array): string | undefined {
  try {
    return storedRequestId(decodeStoredRequest(value));
  } catch {
    return undefined;
  }
}
