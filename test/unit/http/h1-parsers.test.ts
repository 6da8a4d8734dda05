import { describe, expect, it } from 'vitest';
import { ChunkedDecoder } from '../../../src/http/h1-chunked.js';
import { MAX_HEAD_BYTES, parseResponseHead } from '../../../src/http/h1-response-head.js';

const CHUNKED = '4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n';

describe('ChunkedDecoder', () => {
  it('decodes the same body whatever the read boundaries, and reports where the body ends', () => {
    const input = Buffer.from(`${CHUNKED}NEXT`, 'latin1');
    for (let split = 1; split < input.length; split++) {
      const decoder = new ChunkedDecoder();
      const out: Buffer[] = [];
      const first = decoder.push(input.subarray(0, split), 0, (c) => out.push(Buffer.from(c)));
      const second =
        first === -1 ? decoder.push(input.subarray(split), 0, (c) => out.push(Buffer.from(c))) : -1;
      expect(Buffer.concat(out).toString()).toBe('Wikipedia in\r\n\r\nchunks.');
      // The body ends just before "NEXT", in whichever read held its last byte.
      const end = first !== -1 ? first : split + second;
      expect(input.subarray(end).toString()).toBe('NEXT');
    }
  });

  it('refuses sizes that are not hex, too long, or data longer than announced', () => {
    for (const bad of [
      '-1\r\nx\r\n0\r\n\r\n',
      '12345678901234\r\n',
      '2\r\nabc\r\n',
      '2\nab\r\n',
      '0x2\r\nab\r\n',
    ]) {
      expect(() => new ChunkedDecoder().push(Buffer.from(bad), 0, () => undefined)).toThrow(
        /malformed response/,
      );
    }
  });
});

describe('parseResponseHead', () => {
  it('waits for the whole head, then reads status, fields and framing', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  v \t\r\n\r\nhello';
    expect(parseResponseHead(Buffer.from(text.slice(0, 20)), 0, 'GET')).toBeUndefined();
    const head = parseResponseHead(Buffer.from(text), 0, 'GET');
    expect(head).toMatchObject({
      status: 200,
      headers: ['Content-Length', '5', 'X-A', 'v'],
      framing: { kind: 'length', bytes: 5 },
      keepAlive: true,
      headBytes: text.length - 5,
    });
  });

  it('does not keep alive an HTTP/1.0 answer or one with Connection: close', () => {
    expect(
      parseResponseHead(Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'), 0, 'GET')?.keepAlive,
    ).toBe(false);
    expect(
      parseResponseHead(
        Buffer.from('HTTP/1.1 200 OK\r\nConnection: x, close\r\nContent-Length: 0\r\n\r\n'),
        0,
        'GET',
      )?.keepAlive,
    ).toBe(false);
  });

  it('refuses a head longer than the limit, complete or not', () => {
    const long = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`;
    expect(() => parseResponseHead(Buffer.from(long), 0, 'GET')).toThrow(/too long/);
    expect(() => parseResponseHead(Buffer.from(`${long}\r\n\r\n`), 0, 'GET')).toThrow(/too long/);
  });
});
