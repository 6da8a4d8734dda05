import { describe, expect, it } from 'vitest';
import {
  MAX_REQUEST_ID_LENGTH,
  RequestIdGenerator,
  formatTraceParent,
  isValidRequestId,
  parseTraceParent,
  requestIdOf,
  withRequestId,
} from '../../../src/http/request-id.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe('isValidRequestId', () => {
  it('accepts visible ASCII up to the length bound', () => {
    for (const id of [
      'a',
      'req-123',
      'f47ac10b-58cc-4372-a567-0e02b2c3d479',
      'a:b/c+d=e@f~g',
      'x'.repeat(128),
    ]) {
      expect(isValidRequestId(id), id).toBe(true);
    }
  });

  it('refuses empty, too long, spaces, commas, control and non-ASCII characters', () => {
    for (const id of [
      '',
      'x'.repeat(MAX_REQUEST_ID_LENGTH + 1),
      'a b',
      'a,b',
      'a\tb',
      'a\u0000',
      'é',
      'a\nb',
    ]) {
      expect(isValidRequestId(id), JSON.stringify(id)).toBe(false);
    }
  });
});

describe('parseTraceParent', () => {
  it('reads a version 00 traceparent', () => {
    expect(parseTraceParent(TRACEPARENT)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: 1 });
  });

  it('reads the first four fields of a future version and ignores the rest', () => {
    expect(parseTraceParent(`cc-${TRACE_ID}-${SPAN_ID}-00-extra`)).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      flags: 0,
    });
  });

  it('refuses malformed values, version ff, all-zero ids, upper case, extra fields in 00 and duplicates', () => {
    for (const bad of [
      undefined,
      '',
      'garbage',
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
      `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`,
      [TRACEPARENT, TRACEPARENT],
    ]) {
      expect(parseTraceParent(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('formats back what it parsed', () => {
    const parsed = parseTraceParent(TRACEPARENT);
    expect(parsed).toBeDefined();
    expect(formatTraceParent(parsed!)).toBe(TRACEPARENT);
  });
});

describe('requestIdOf', () => {
  it("keeps the caller's valid X-Request-Id", () => {
    expect(requestIdOf({ 'x-request-id': 'abc-1', traceparent: TRACEPARENT })).toEqual({
      id: 'abc-1',
      source: 'header',
    });
  });

  it('uses the trace id of a valid traceparent when there is no valid X-Request-Id', () => {
    expect(requestIdOf({ traceparent: TRACEPARENT })).toEqual({ id: TRACE_ID, source: 'traceparent' });
    expect(requestIdOf({ 'x-request-id': 'a b', traceparent: TRACEPARENT })).toEqual({
      id: TRACE_ID,
      source: 'traceparent',
    });
  });

  it('generates a distinct trace-id-shaped id otherwise', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const generated = requestIdOf({ 'x-request-id': 'x'.repeat(500) });
      expect(generated.source).toBe('generated');
      expect(generated.id).toMatch(/^[0-9a-f]{32}$/);
      ids.add(generated.id);
    }
    expect(ids.size).toBe(1000);
  });
});

describe('RequestIdGenerator', () => {
  it('draws a new random prefix per generator, so two processes do not collide', () => {
    const a = new RequestIdGenerator();
    const b = new RequestIdGenerator();
    const first = a.next();
    expect(first.slice(0, 20)).not.toBe(b.next().slice(0, 20));
    expect(first.slice(20)).toBe('000000000001');
    expect(a.next().slice(20)).toBe('000000000002');
  });
});

describe('withRequestId', () => {
  it('leaves the headers alone when they already carry the caller id', () => {
    const headers = ['X-Request-Id', 'abc', 'accept', '*/*'];
    expect(withRequestId(headers, { id: 'abc', source: 'header' })).toEqual([
      'X-Request-Id',
      'abc',
      'accept',
      '*/*',
    ]);
  });

  it('replaces every invalid caller value with the new id', () => {
    const headers = ['X-Request-Id', 'bad id', 'accept', '*/*', 'x-request-id', 'another bad'];
    expect(withRequestId(headers, { id: 'new-id', source: 'generated' })).toEqual([
      'accept',
      '*/*',
      'x-request-id',
      'new-id',
    ]);
  });

  it('appends the id when the caller sent none', () => {
    expect(withRequestId(['accept', '*/*'], { id: TRACE_ID, source: 'traceparent' })).toEqual([
      'accept',
      '*/*',
      'x-request-id',
      TRACE_ID,
    ]);
  });
});
