import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { startAppStack, type AppStack, type Behaviour } from '../helpers/app-stack.js';
import { testFunctionSpec } from '../helpers/test-function-spec.js';
import { waitUntil } from '../helpers/wait-until.js';

let stack: AppStack;
let orchestrator: MemoryOrchestrator;
let server: { url: string };

/** What a replica does for a path: `replica` is the id of the replica that answers. */
type Route = (req: IncomingMessage, res: ServerResponse, replica: string) => void;
const routes = {
  set(path: string, route: Route): void {
    stack.replicas.behaviours.set(path, (req, res, received) => route(req, res, received.replica));
  },
};

/** Echoes what the replica received, as JSON. */
const echo: Behaviour = (_req, res, received) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ replica: received.replica, url: received.url, method: received.method }));
};

beforeAll(async () => {
  stack = await startAppStack(
    [testFunctionSpec('warm', { replicasMin: 2, replicasAtStart: 2 }), testFunctionSpec('cold')],
    { maxRequestBodyBytes: 10 * 1024 * 1024 },
  );
  orchestrator = stack.orchestrator;
  server = { url: stack.url };
  for (const path of ['/a/b/', '/', '/x', '/echo']) stack.replicas.behaviours.set(path, echo);
  await waitUntil(
    () => [...(orchestrator.functions().get('warm')?.replicas ?? [])].filter((r) => r.ready).length === 2,
  );
});

afterAll(async () => {
  await stack?.close();
});

describe('sync proxy (in-process, real sockets)', () => {
  it('preserves the path, trailing slash and raw query string', async () => {
    const res = await fetch(`${server.url}/function/warm/a/b/?x=1&y=%2F&z`);
    const body = (await res.json()) as { url: string };
    expect(body.url).toBe('/a/b/?x=1&y=%2F&z');
    const root = (await (await fetch(`${server.url}/function/warm?q=1`)).json()) as { url: string };
    expect(root.url).toBe('/?q=1');
  });

  it('passes a redirect through instead of following it', async () => {
    routes.set('/redirect', (_req, res) => {
      res.writeHead(302, { location: '/elsewhere', 'content-length': 0 });
      res.end();
    });
    const res = await fetch(`${server.url}/function/warm/redirect`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/elsewhere');
  });

  it('removes hop-by-hop response headers and keeps end-to-end ones', async () => {
    routes.set('/hop', (_req, res) => {
      res.writeHead(200, {
        connection: 'X-Private',
        'x-private': 'secret',
        'x-public': 'ok',
        'content-length': 2,
      });
      res.end('ok');
    });
    const res = await fetch(`${server.url}/function/warm/hop`);
    expect(res.headers.get('x-public')).toBe('ok');
    expect(res.headers.get('x-private')).toBeNull();
    expect(await res.text()).toBe('ok');
  });

  it('passes a small binary body with every byte value through unchanged', async () => {
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
    routes.set('/binary', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(bytes);
    });
    const body = Buffer.from(await (await fetch(`${server.url}/function/warm/binary`)).arrayBuffer());
    expect(body.equals(bytes)).toBe(true);
  });

  it('streams a 2 MiB response body back intact', async () => {
    const size = 2 * 1024 * 1024;
    routes.set('/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = (): void => {
        while (sent < size) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const body = Buffer.from(await (await fetch(`${server.url}/function/warm/big`)).arrayBuffer());
    expect(body.length).toBe(size);
    expect(body.every((b) => b === 1)).toBe(true);
  });

  it('forwards request bodies intact whether they came with the headers, after them, chunked or empty', async () => {
    // The replica harness has read the body already (received.body, utf8): bodies here are ASCII.
    stack.replicas.behaviours.set('/body', (req, res, received) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          length: received.body.length,
          head: received.body.slice(0, 64),
          te: req.headers['transfer-encoding'] ?? null,
        }),
      );
    });
    const url = `${server.url}/function/warm/body`;
    const ascii = Array.from({ length: 300 }, (_, i) => String.fromCharCode(33 + ((i * 7) % 90))).join('');
    // Headers and body in one write (as wrk and most clients send small bodies): complete when
    // dispatched, so it goes upstream as one buffer.
    const small = await rawExchange(url, [
      `POST /function/warm/body HTTP/1.1\r\nhost: x\r\ncontent-length: 300\r\nconnection: close\r\n\r\n${ascii}`,
    ]);
    expect(small).toContain(`"length":300,"head":${JSON.stringify(ascii.slice(0, 64))}`);
    const viaFetch = (await (await fetch(url, { method: 'POST', body: ascii })).json()) as { length: number };
    expect(viaFetch.length).toBe(300);
    const empty = (await (await fetch(url, { method: 'POST', body: '' })).json()) as { length: number };
    expect(empty.length).toBe(0);
    const big = 'x'.repeat(200_000); // over the size sent as one buffer: streamed
    expect(
      ((await (await fetch(url, { method: 'POST', body: big })).json()) as { length: number }).length,
    ).toBe(200_000);
    // Headers first, the body 50 ms later: not complete when dispatched, so it is streamed.
    const late = await rawExchange(url, [
      'POST /function/warm/body HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nconnection: close\r\n\r\n',
      'hello',
    ]);
    expect(late).toContain('"length":5,"head":"hello"');
    const chunked = await rawExchange(url, [
      'POST /function/warm/body HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n',
      '2\r\nde\r\n0\r\n\r\n',
    ]);
    expect(chunked).toContain('"length":5,"head":"abcde"');
  });

  it('answers 502 to a malformed upstream response (ambiguous framing) and keeps serving', async () => {
    routes.set('/malformed', (_req, res) => {
      // Raw bytes, past ServerResponse: both Content-Length and chunked is a request-smuggling shape.
      res.socket?.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    });
    const res = await fetch(`${server.url}/function/warm/malformed`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toBe('upstream_error');
    expect((await fetch(`${server.url}/function/warm/x`)).status).toBe(200);
  });

  it('passes HEAD, 204 and 304 answers through without a body', async () => {
    routes.set('/nobody', (req, res) => {
      const status = Number(req.headers['x-status'] ?? '200');
      res.writeHead(status, status === 200 ? { 'content-length': 11, etag: '"e"' } : { etag: '"e"' });
      res.end(req.method === 'HEAD' || status !== 200 ? undefined : 'hello world');
    });
    const url = `${server.url}/function/warm/nobody`;
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('11');
    expect(await head.text()).toBe('');
    for (const status of [204, 304]) {
      const res = await fetch(url, { headers: { 'x-status': String(status) } });
      expect(res.status).toBe(status);
      expect(res.headers.get('etag')).toBe('"e"');
      expect(await res.text()).toBe('');
    }
    expect(await (await fetch(url)).text()).toBe('hello world');
  });

  it('answers 502 when the replica resets the connection before answering', async () => {
    routes.set('/reset', (req) => req.socket.destroy());
    const res = await fetch(`${server.url}/function/warm/reset`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toMatch(/^upstream_/);
  });

  it('aborts the upstream request when the client goes away', async () => {
    let upstreamClosed = false;
    let started = false;
    routes.set('/wait', (req, res) => {
      started = true;
      res.on('close', () => (upstreamClosed = !res.writableFinished));
      void req;
    });
    const client = httpRequest(`${server.url}/function/warm/wait`);
    client.on('error', () => undefined);
    client.end();
    await waitUntil(() => started);
    client.destroy();
    await waitUntil(() => upstreamClosed, { message: 'upstream request aborted' });
  });

  it('sends each request to the replica with the fewest in-flight requests', async () => {
    const release: (() => void)[] = [];
    routes.set('/slow', (_req, res, replica) => {
      release.push(() => res.end(replica));
    });
    const first = fetch(`${server.url}/function/warm/slow`).then((r) => r.text());
    await waitUntil(() => release.length === 1);
    // One at a time: the idle replica always has fewer in-flight requests than the busy one.
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push(
        ((await (await fetch(`${server.url}/function/warm/x`)).json()) as { replica: string }).replica,
      );
    }
    release[0]?.();
    const busy = await first;
    expect(answers.every((r) => r !== busy)).toBe(true);
  });

  it('holds a call to a function at zero, wakes it, and answers with the cold-start header', async () => {
    expect(orchestrator.functions().get('cold')?.requested).toBe(0);
    const res = await fetch(`${server.url}/function/cold/echo`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-slimfaas-cold-start')).toBe('true');
    expect(orchestrator.scaleCalls).toContainEqual({ name: 'cold', replicas: 1 });
  });
});

describe('sync proxy: held requests', () => {
  it('answers 503 beyond the bound of held requests, and releases the held ones the moment a replica is ready', async () => {
    const gated = await startAppStack([testFunctionSpec('gated')], { autoReady: false, maxHeld: 2 });
    try {
      const held = [fetch(`${gated.url}/function/gated/a`), fetch(`${gated.url}/function/gated/b`)];
      await waitUntil(() => gated.orchestrator.functions().get('gated')?.replicas.length === 1);
      const overflow = await fetch(`${gated.url}/function/gated/c`);
      expect(overflow.status).toBe(503);
      expect(overflow.headers.get('retry-after')).toBe('1');
      gated.orchestrator.setReady('gated', 0, true);
      const answers = await Promise.all(held);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
    } finally {
      await gated.close();
    }
  });
});

/** Sends `parts` over one raw connection, 50 ms apart, and returns everything the server answered. */
function rawExchange(url: string, parts: readonly string[]): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.on('connect', () => {
      parts.forEach((part, i) => setTimeout(() => socket.write(part), i * 50));
    });
  });
}
