import { describe, expect, it } from 'vitest';
import { decodeStoredRequest, encodeStoredRequest } from '../../../src/core/async-request.js';

describe('stored async request codec', () => {
  it('round-trips method, path with query, raw headers and binary body', () => {
    const body = Buffer.from([0, 1, 2, 255, 10, 13]);
    const request = {
      method: 'DELETE',
      path: '/a/b/?x=1&y',
      headers: ['X-A', '1', 'x-a', '2', 'Content-Type', 'x/y'],
      body,
    };
    const decoded = decodeStoredRequest(encodeStoredRequest(request));
    expect(decoded.method).toBe('DELETE');
    expect(decoded.path).toBe('/a/b/?x=1&y');
    expect(decoded.headers).toEqual(request.headers);
    expect(Buffer.from(decoded.body).equals(body)).toBe(true);
  });

  it('rejects values that are not encoded requests', () => {
    expect(() => decodeStoredRequest(Buffer.from([0, 0, 0, 50, 1]))).toThrow(RangeError);
    const head = Buffer.from('{"m":1}');
    const bad = Buffer.concat([Buffer.from([0, 0, 0, head.length]), head]);
    expect(() => decodeStoredRequest(bad)).toThrow(SyntaxError);
  });
});
