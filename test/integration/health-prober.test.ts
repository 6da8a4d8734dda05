import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeReplica } from '../../src/orchestrators/local-process/health-prober.js';

// Real servers on port 0 (loopback); a closed port is one a server listened on and then released.
const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A raw TCP server that answers each connection with `reply(firstChunk, socket)`. */
function rawServer(reply: (request: string, socket: Socket) => void): Promise<number> {
  return listen(createServer((socket) => socket.once('data', (chunk) => reply(chunk.toString(), socket))));
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('probeReplica', () => {
  it('is ok for a 2xx on the health path, and sends a well-formed GET with Connection: close', async () => {
    const seen: IncomingMessage[] = [];
    const port = await listen(
      createHttpServer((req, res) => {
        seen.push(req);
        res.writeHead(req.url === '/health' ? 204 : 404).end();
      }),
    );
    await expect(probeReplica({ port, path: '/health', timeoutMs: 5000 })).resolves.toBe('ok');
    await expect(probeReplica({ port, path: '/other', timeoutMs: 5000 })).resolves.toBe('unhealthy');
    expect(seen.map((r) => [r.method, r.url, r.headers.connection, r.headers.host])).toEqual([
      ['GET', '/health', 'close', `127.0.0.1:${port}`],
      ['GET', '/other', 'close', `127.0.0.1:${port}`],
    ]);
  });

  it('is unhealthy for a 5xx, for an HTTP/1.0 300, and ok for an HTTP/1.0 200 without a reason phrase', async () => {
    const replies = [
      'HTTP/1.1 503 Service Unavailable\r\n\r\n',
      'HTTP/1.0 300 x\r\n\r\n',
      'HTTP/1.0 200\r\n\r\n',
    ];
    const results = [];
    for (const reply of replies) {
      const port = await rawServer((_request, socket) => socket.end(reply));
      results.push(await probeReplica({ port, path: '/health', timeoutMs: 5000 }));
    }
    expect(results).toEqual(['unhealthy', 'unhealthy', 'ok']);
  });

  it('reads a status line split across packets', async () => {
    const port = await rawServer((_request, socket) => {
      socket.setNoDelay(true);
      socket.write('HTTP/1.1 2');
      setTimeout(() => socket.end('00 OK\r\ncontent-length: 0\r\n\r\n'), 50);
    });
    await expect(probeReplica({ port, path: '/health', timeoutMs: 5000 })).resolves.toBe('ok');
  });

  it('is unhealthy for an answer that is not HTTP, or a connection closed before any status line', async () => {
    const garbage = await rawServer((_request, socket) => socket.write('x'.repeat(4096)));
    const closes = await rawServer((_request, socket) => socket.end());
    await expect(probeReplica({ port: garbage, path: '/health', timeoutMs: 5000 })).resolves.toBe(
      'unhealthy',
    );
    await expect(probeReplica({ port: closes, path: '/health', timeoutMs: 5000 })).resolves.toBe('unhealthy');
  });

  it('is unhealthy when the port accepts but never answers within the timeout', async () => {
    const port = await rawServer(() => undefined);
    await expect(probeReplica({ port, path: '/health', timeoutMs: 200 })).resolves.toBe('unhealthy');
  });

  it('is refused for a port nothing listens on, with or without a path', async () => {
    const port = await closedPort();
    await expect(probeReplica({ port, path: '/health', timeoutMs: 5000 })).resolves.toBe('refused');
    await expect(probeReplica({ port, path: undefined, timeoutMs: 5000 })).resolves.toBe('refused');
  });

  it('without a path, a connect that is accepted is ok and nothing is sent', async () => {
    let received = '';
    const port = await listen(
      createServer((socket) => socket.on('data', (chunk) => (received += chunk.toString()))),
    );
    await expect(probeReplica({ port, path: undefined, timeoutMs: 5000 })).resolves.toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toBe('');
  });

  it('with lingerAfterOkMs, asks for keep-alive and closes the connection itself after the linger', async () => {
    const connectionHeaders: (string | undefined)[] = [];
    let closedAtMs: number | undefined;
    const port = await listen(
      createHttpServer((req, res) => {
        connectionHeaders.push(req.headers.connection);
        req.socket.once('close', () => (closedAtMs = Date.now()));
        res.writeHead(200, { 'content-length': '2' }).end('ok');
      }),
    );
    await expect(
      probeReplica({ port, path: '/health', timeoutMs: 5000, lingerAfterOkMs: 300 }),
    ).resolves.toBe('ok');
    expect(connectionHeaders).toEqual([undefined]);
    expect(closedAtMs).toBeUndefined();
    const deadline = Date.now() + 5000;
    while (closedAtMs === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(closedAtMs).toBeDefined();
  });
});
