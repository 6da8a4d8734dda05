/** The failures of the sync proxy's HTTP/1.1 client (proxy.ts maps them to error codes). */
export type H1ErrorCode =
  'H1_CONNECT_TIMEOUT' | 'H1_HEADERS_TIMEOUT' | 'H1_SOCKET' | 'H1_CLOSED' | 'H1_PROTOCOL' | 'H1_ABORTED';

export class H1Error extends Error {
  readonly code: H1ErrorCode;
  constructor(code: H1ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'H1Error';
    this.code = code;
  }
}

/** A malformed or ambiguous upstream response: the proxy answers 502 and never reuses the socket. */
export class H1ProtocolError extends H1Error {
  constructor(message: string) {
    super('H1_PROTOCOL', `malformed response from the replica: ${message}`);
  }
}
