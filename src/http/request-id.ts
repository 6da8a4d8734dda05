import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The response and upstream header carrying a request's id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Longest `X-Request-Id` accepted from a caller; a longer one is replaced. */
export const MAX_REQUEST_ID_LENGTH = 128;

/**
 * Visible ASCII without `,` (RFC 9110 §5.6.2 token-ish): a comma would mean two header lines merged by
 * Node, a space or a control character could forge log fields or header lines.
 */
const VALID_REQUEST_ID = /^[\x21-\x2b\x2d-\x7e]+$/;

/** W3C Trace Context §3.2: `version-traceid-parentid-flags`, lower-case hex; version `ff` is invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  /** The trace-flags byte (bit 0: sampled). */
  readonly flags: number;
}

/** Where a request's id came from: the caller's `X-Request-Id`, its `traceparent`, or SlimFaas. */
export type RequestIdSource = 'header' | 'traceparent' | 'generated';

export interface RequestId {
  readonly id: string;
  readonly source: RequestIdSource;
}

export function isValidRequestId(value: string): boolean {
  return value.length > 0 && value.length <= MAX_REQUEST_ID_LENGTH && VALID_REQUEST_ID.test(value);
}

/**
 * Parses a `traceparent` value (W3C Trace Context Level 1). Unknown future versions are read by their
 * first four fields as the spec asks (§4.3); version 00 must have exactly four. All-zero ids are invalid.
 */
export function parseTraceParent(value: string | readonly string[] | undefined): TraceParent | undefined {
  // Two `traceparent` fields make the request's trace context invalid (W3C Trace Context §3.2).
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { traceId, spanId, flags: Number.parseInt(flags, 16) };
}

/** `00-{traceId}-{spanId}-{flags}`: the value SlimFaas sends upstream for its own span. */
export function formatTraceParent(parent: TraceParent): string {
  return `00-${parent.traceId}-${parent.spanId}-${(parent.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Generated ids: 32 lower-case hex characters, shaped like a W3C trace id — 80 random bits drawn once per
 * process (and again if the counter ever wraps) followed by a 48-bit counter. Unique across processes
 * with overwhelming probability, and about three times cheaper than `randomUUID()` on this machine
 * (bench/request-id.mjs).
 */
const COUNTER_ZEROS = '000000000000';

export class RequestIdGenerator {
  #prefix = '';
  #counter = 0;

  next(): string {
    if (this.#counter === 0 || this.#counter >= 0xffffffffffff) {
      this.#prefix = randomBytes(10).toString('hex');
      this.#counter = 0;
    }
    const hex = (++this.#counter).toString(16);
    return this.#prefix + COUNTER_ZEROS.slice(hex.length) + hex;
  }
}

const defaultGenerator = new RequestIdGenerator();

/**
 * The id of an incoming request: a valid `X-Request-Id` is kept as is; otherwise the trace id of a valid
 * `traceparent` (so logs and traces share one key); otherwise a generated one. An invalid `X-Request-Id`
 * is replaced, never forwarded.
 */
export function requestIdOf(
  headers: IncomingHttpHeaders,
  generator: RequestIdGenerator = defaultGenerator,
): RequestId {
  const given = headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && isValidRequestId(given)) return { id: given, source: 'header' };
  const parent = parseTraceParent(headers.traceparent);
  if (parent !== undefined) return { id: parent.traceId, source: 'traceparent' };
  return { id: generator.next(), source: 'generated' };
}

/**
 * Makes a flat upstream header list carry `id` as its only `X-Request-Id`. When the caller's own header
 * was kept (`source === 'header'`) the list already has it and is returned unchanged (the hot path);
 * otherwise any caller value is dropped and `id` appended.
 */
export function withRequestId(headers: string[], requestId: RequestId): string[] {
  if (requestId.source === 'header') return headers;
  let out = headers;
  for (let i = 0; i < out.length; i += 2) {
    if ((out[i] as string).length === 12 && (out[i] as string).toLowerCase() === REQUEST_ID_HEADER) {
      out = out.filter((_, j) => j !== i && j !== i + 1);
      i -= 2;
    }
  }
  out.push(REQUEST_ID_HEADER, requestId.id);
  return out;
}
