import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityTracker } from '../../src/core/activity.js';
import { systemClock } from '../../src/core/clock.js';
import { createApp, type App } from '../../src/http/create-app.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { ScalerWorker } from '../../src/workers/scaler-worker.js';
import { recordingLogger, testFunctionSpec } from '../contracts/orchestrator-contract.js';
import { waitUntil } from '../helpers/wait-until.js';

/** What each upstream replica does, by path; replicas report which one answered. */
type Route = (req: IncomingMessage, res: ServerResponse, replica: string) => void;
const routes = new Map<string, Route>();

async function startUpstream(name: string, index: number) {
  const replica = `${name}-${index}`;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const route = routes.get(path);
    if (route) return route(req, res, replica);
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ replica, url: req.url, method: req.method, bytes, headers: req.headers }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface Stack {
  readonly orchestrator: MemoryOrchestrator;
  readonly url: string;
  close(): Promise<void>;
}

/** The real app, scaler and server over a MemoryOrchestrator whose replicas are real HTTP servers. */
async function startStack(
  functions: ConstructorParameters<typeof MemoryOrchestrator>[0]['functions'],
  options: { autoReady?: boolean; maxHeld?: number } = {},
): Promise<Stack> {
  const orchestrator = new MemoryOrchestrator({
    functions,
    startReplica: startUpstream,
    autoReady: options.autoReady ?? true,
  });
  const activity = new ActivityTracker(systemClock);
  const scaler = new ScalerWorker({
    orchestrator,
    activity,
    clock: systemClock,
    logger: recordingLogger(),
    intervalMs: 50,
    scaledUpByDefaultWhenNeverCalled: false,
  });
  const app: App = createApp({
    orchestrator,
    activity,
    waker: scaler,
    logger: recordingLogger(),
    clock: systemClock,
    settings: {
      maxHeldRequestsPerFunction: options.maxHeld ?? 100,
      maxRequestBodyBytes: 10 * 1024 * 1024,
      requestLogLevel: 'debug',
    },
    isReady: () => true,
  });
  await orchestrator.start();
  scaler.start();
  const server: RunningServer = await startServer(app.handle, { host: '127.0.0.1', port: 0 });
  return {
    orchestrator,
    url: server.url,
    async close() {
      await server.close(100);
      scaler.close();
      await app.close();
      await orchestrator.close();
    },
  };
}

let stack: Stack;
let orchestrator: MemoryOrchestrator;
let server: { url: string };

beforeAll(async () => {
  stack = await startStack([
    { spec: testFunctionSpec('warm', { replicasMin: 2, replicasAtStart: 2 }) },
    { spec: testFunctionSpec('cold') },
  ]);
  orchestrator = stack.orchestrator;
  server = { url: stack.url };
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
    const gated = await startStack([{ spec: testFunctionSpec('gated') }], { autoReady: false, maxHeld: 2 });
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
