import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { H1RequestOptions } from '../../src/http/h1-exchange.js';
import { H1Pool } from '../../src/http/h1-pool.js';
import type { ResponseHead } from '../../src/http/h1-response-head.js';
import { waitUntil } from '../helpers/wait-until.js';

interface Answer {
  readonly status: number;
  readonly head: ResponseHead;
  readonly body: Buffer;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newPool(port: number, idleTimeoutMs = 4_000): H1Pool {
  const pool = new H1Pool(`http://127.0.0.1:${port}`, {
    connectTimeoutMs: 2_000,
    idleTimeoutMs,
    maxIdle: 16,
  });
  cleanups.push(() => pool.destroy());
  return pool;
}

/** A real node:http server counting the connections it accepted. */
async function httpServer(
  listener: RequestListener,
): Promise<{ port: number; connections: () => number; server: Server; sockets: Socket[] }> {
  const server = createHttpServer(listener);
  const sockets: Socket[] = [];
  server.on('connection', (socket: Socket) => sockets.push(socket));
  const connections = (): number => sockets.length;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as AddressInfo).port, connections, server, sockets };
}

/** A raw TCP server: `onRequest(socket, index)` runs for every request head it reads (bodies are ignored). */
async function rawServer(
  onRequest: (socket: Socket, index: number) => void,
): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) !== -1) {
        pending = pending.slice(end + 4);
        onRequest(socket, requests++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

function call(
  pool: H1Pool,
  options: Partial<H1RequestOptions> = {},
  onChunk?: (chunk: Buffer) => boolean,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let head: ResponseHead | undefined;
    pool.request(
      { method: 'GET', path: '/', headers: [], body: null, headersTimeoutMs: 5_000, ...options },
      {
        onResponseHead: (h) => (head = h),
        onResponseData: (chunk) => {
          chunks.push(Buffer.from(chunk));
          return onChunk === undefined ? true : onChunk(chunk);
        },
        onResponseEnd: (last) => {
          if (last !== undefined) chunks.push(Buffer.from(last));
          resolve({
            status: (head as ResponseHead).status,
            head: head as ResponseHead,
            body: Buffer.concat(chunks),
          });
        },
        onResponseError: reject,
      },
    );
  });
}

const header = (answer: Answer, name: string): string | undefined => {
  const { headers } = answer.head;
  for (let i = 0; i < headers.length; i += 2) if (headers[i]?.toLowerCase() === name) return headers[i + 1];
  return undefined;
};

describe('H1Pool (the sync proxy HTTP/1.1 client) against real servers', () => {
  it('reuses one keep-alive socket for sequential requests and sends head, headers and body', async () => {
    const seen: string[] = [];
    const up = await httpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(
          `${req.method} ${req.url} host=${req.headers.host} x=${String(req.headers['x-a'])} body=${body}`,
        );
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
        res.end('ok');
      });
    });
    const pool = newPool(up.port);
    for (let i = 0; i < 3; i++) {
      const answer = await call(pool, {
        method: 'POST',
        path: `/p?i=${i}`,
        headers: ['X-A', 'b', 'content-length', '3'],
        body: Buffer.from('abc'),
      });
      expect(answer.status).toBe(200);
      expect(answer.body.toString()).toBe('ok');
    }
    const empty = await call(pool, { method: 'POST', path: '/empty' });
    expect(empty.status).toBe(200);
    expect(seen).toEqual([
      `POST /p?i=0 host=127.0.0.1:${up.port} x=b body=abc`,
      `POST /p?i=1 host=127.0.0.1:${up.port} x=b body=abc`,
      `POST /p?i=2 host=127.0.0.1:${up.port} x=b body=abc`,
      `POST /empty host=127.0.0.1:${up.port} x=undefined body=`,
    ]);
    expect(up.connections()).toBe(1);
  });

  it('decodes a chunked response split across reads, with extensions and trailers, and reuses the socket', async () => {
    const up = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: 1\r\n\r\n5;ext=1\r\nhel');
      setTimeout(() => socket.write('lo\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'), 10);
    });
    const pool = newPool(up.port);
    const first = await call(pool);
    expect(first.body.toString()).toBe('hello world');
    expect(header(first, 'x-up')).toBe('1');
    expect((await call(pool)).body.toString()).toBe('hello world');
    expect(up.connections()).toBe(1);
  });

  it('skips 100 and 103 interim responses', async () => {
    const up = await rawServer((socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n');
      socket.write('HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    });
    const answer = await call(newPool(up.port));
    expect(answer.status).toBe(201);
    expect(answer.body.toString()).toBe('ok');
    expect(header(answer, 'link')).toBeUndefined();
  });

  it('reads no body for HEAD, 204 and 304, and keeps the socket usable', async () => {
    const up = await httpServer((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
      else res.writeHead(200, { 'content-length': 5 }).end(req.method === 'HEAD' ? undefined : 'hello');
    });
    const pool = newPool(up.port);
    const head = await call(pool, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(header(head, 'content-length')).toBe('5');
    expect(head.body.length).toBe(0);
    expect((await call(pool, { path: '/204' })).status).toBe(204);
    expect((await call(pool, { path: '/304' })).status).toBe(304);
    expect((await call(pool)).body.toString()).toBe('hello');
    expect(up.connections()).toBe(1);
  });

  it('does not reuse a socket after Connection: close, and reads a close-delimited body to its end', async () => {
    const up = await rawServer((socket, index) => {
      if (index === 0) socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na');
      else socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end');
    });
    const pool = newPool(up.port);
    expect((await call(pool)).body.toString()).toBe('a');
    expect((await call(pool)).body.toString()).toBe('until the end');
    expect((await call(pool)).body.toString()).toBe('until the end');
    expect(up.connections()).toBe(3);
  });

  it('drops an idle socket the server closed and opens a new one', async () => {
    const up = await httpServer((_req, res) => res.writeHead(200, { 'content-length': 1 }).end('x'));
    up.server.keepAliveTimeout = 100;
    const pool = newPool(up.port);
    expect((await call(pool)).status).toBe(200);
    await waitUntil(() => up.sockets[0]?.destroyed, { message: 'the server closed the idle socket' });
    expect((await call(pool)).status).toBe(200);
    expect(up.connections()).toBe(2);
  });

  it('retries an idempotent request once on a new socket when a reused one closes before answering', async () => {
    // The race a keep-alive pool must survive: the server closes an idle socket just as a request leaves.
    const up = await rawServer((socket, index) => {
      if (index === 1) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const pool = newPool(up.port);
    expect((await call(pool)).status).toBe(200);
    const retried = await call(pool);
    expect(retried.body.toString()).toBe('ok');
    expect(up.connections()).toBe(2);
  });

  it('does not retry a POST that failed on a reused socket', async () => {
    const up = await rawServer((socket, index) => {
      if (index === 1) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const pool = newPool(up.port);
    expect((await call(pool, { method: 'POST' })).status).toBe(200);
    const failure = await call(pool, { method: 'POST' }).then(
      () => undefined,
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(['H1_CLOSED', 'H1_SOCKET']).toContain(failure);
    expect(up.connections()).toBe(1);
  });

  const malformed: Record<string, string> = {
    'both Transfer-Encoding and Content-Length':
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'two different Content-Length values':
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    'a non-numeric Content-Length': 'HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc',
    'an unsupported Transfer-Encoding': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc',
    'a bad status line': 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n',
    'whitespace before a colon': 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n',
    'an obs-folded header': 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n',
    'a bare LF inside a header value': 'HTTP/1.1 200 OK\r\nX-A: a\nb\r\nContent-Length: 0\r\n\r\n',
    'a bad chunk size': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    'chunk data longer than its size':
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n',
    '101 without an upgrade': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n',
  };
  for (const [what, response] of Object.entries(malformed)) {
    it(`refuses a response with ${what} and never reuses that socket`, async () => {
      const up = await rawServer((socket, index) => {
        if (index === 0) socket.write(response);
        else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
      const pool = newPool(up.port);
      await expect(call(pool)).rejects.toMatchObject({ code: 'H1_PROTOCOL' });
      expect((await call(pool)).body.toString()).toBe('ok');
      expect(up.connections()).toBe(2);
    });
  }

  it('times out waiting for the head, and reports a refused connection', async () => {
    const up = await rawServer(() => undefined);
    await expect(call(newPool(up.port), { headersTimeoutMs: 200 })).rejects.toMatchObject({
      code: 'H1_HEADERS_TIMEOUT',
    });
    const closed = await rawServer(() => undefined);
    await cleanups.pop()?.(); // the server is gone: its port now refuses connections
    const pool = newPool(closed.port);
    await expect(call(pool)).rejects.toMatchObject({ code: 'H1_SOCKET', cause: { code: 'ECONNREFUSED' } });
  });

  it('streams big bodies both ways with backpressure', async () => {
    const size = 8 * 1024 * 1024;
    const up = await httpServer((req, res) => {
      let received = 0;
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => {
        res.writeHead(200, {
          'x-received': String(received),
          'x-te': req.headers['transfer-encoding'] ?? '',
        });
        const chunk = Buffer.alloc(64 * 1024, 7);
        let sent = 0;
        const pump = (): void => {
          while (sent < size) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      });
    });
    const pool = newPool(up.port);
    let produced = 0;
    const upload = new Readable({
      read() {
        produced += 256 * 1024;
        this.push(produced > 4 * 1024 * 1024 ? null : Buffer.alloc(256 * 1024, 1));
      },
    });
    let pauses = 0;
    let exchange: { resume(): void } | undefined;
    const answer = await new Promise<Answer>((resolve, reject) => {
      let received = 0;
      let head: ResponseHead | undefined;
      exchange = pool.request(
        {
          method: 'POST',
          path: '/',
          headers: [],
          body: { stream: upload, chunked: true },
          headersTimeoutMs: 10_000,
        },
        {
          onResponseHead: (h) => (head = h),
          onResponseData: (chunk) => {
            received += chunk.length;
            if (chunk.some((b) => b !== 7)) reject(new Error('corrupted body'));
            // Refuse every other chunk: the client must pause its socket and resume on demand.
            if (received % 2 === 0) return true;
            pauses++;
            setImmediate(() => exchange?.resume());
            return false;
          },
          onResponseEnd: (last) => {
            received += last?.length ?? 0;
            resolve({
              status: (head as ResponseHead).status,
              head: head as ResponseHead,
              body: Buffer.alloc(received),
            });
          },
          onResponseError: reject,
        },
      );
    });
    expect(answer.status).toBe(200);
    expect(header(answer, 'x-received')).toBe(String(4 * 1024 * 1024));
    expect(header(answer, 'x-te')).toBe('chunked');
    expect(answer.body.length).toBe(size);
    expect(pauses).toBeGreaterThan(0);
  });

  it('closes the upstream socket when the exchange is aborted mid-response', async () => {
    let upstreamClosed = false;
    const up = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      res.on('close', () => (upstreamClosed = true));
    });
    const pool = newPool(up.port);
    await new Promise<void>((resolve, reject) => {
      const exchange = pool.request(
        { method: 'GET', path: '/', headers: [], body: null, headersTimeoutMs: 5_000 },
        {
          onResponseHead: () => undefined,
          onResponseData: () => {
            exchange.abort();
            resolve();
            return true;
          },
          onResponseEnd: () => reject(new Error('should not end')),
          onResponseError: reject,
        },
      );
    });
    await waitUntil(() => upstreamClosed, { message: 'upstream saw the socket close' });
  });
});
