import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIGURATION, type FunctionSpec } from '../../src/core/function-spec.js';
import { testFunctionSpec } from '../contracts/orchestrator-contract.js';
import { startAppStack, type AppStack } from '../helpers/app-stack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { waitUntil } from '../helpers/wait-until.js';

const fastRetries = (timeoutRetriesSeconds: number[], httpTimeoutSeconds = 5) => ({
  ...DEFAULT_CONFIGURATION,
  defaultPublish: { httpTimeoutSeconds, timeoutRetriesSeconds, httpStatusRetries: [500, 502, 503] },
});

const functions: FunctionSpec[] = [
  testFunctionSpec('orders', {
    replicasMin: 3,
    replicasAtStart: 3,
    subscribeEvents: [
      { name: 'created', visibility: 'Public' },
      { name: 'secret', visibility: 'Private' },
    ],
    pathsStartWithVisibility: [{ path: '/admin', visibility: 'Private' }],
    configuration: fastRetries([0.05, 0.05]),
  }),
  testFunctionSpec('billing', {
    replicasMin: 1,
    subscribeEvents: [{ name: 'created', visibility: 'Public' }],
    configuration: fastRetries([0.05, 0.05]),
  }),
  testFunctionSpec('sleeper', {
    replicasMin: 0,
    subscribeEvents: [{ name: 'nap', visibility: 'Public' }],
  }),
  testFunctionSpec('slowpoke', {
    replicasMin: 1,
    subscribeEvents: [{ name: 'slow', visibility: 'Public' }],
    configuration: fastRetries([0.05, 0.05, 0.05], 0.4),
  }),
];

let stack: AppStack;
let external: Server;
const externalReceived: string[] = [];

beforeAll(async () => {
  external = createServer((req, res) => {
    externalReceived.push(`${req.method} ${req.url}`);
    res.writeHead(202);
    res.end();
  });
  await new Promise<void>((r) => external.listen(0, '127.0.0.1', r));
  const externalUrl = `http://127.0.0.1:${(external.address() as AddressInfo).port}`;
  stack = await startAppStack(functions, {
    externalSubscribers: new Map([
      ['created', [`${externalUrl}/hooks/`]],
      ['only-external', [externalUrl]],
      ['with-query', [`${externalUrl}/hook?token=1`]],
    ]),
    maxRequestBodyBytes: 1000,
  });
  await waitUntil(
    () =>
      ['orders', 'billing', 'slowpoke'].every((name) =>
        stack.orchestrator
          .functions()
          .get(name)
          ?.replicas.every((r) => r.ready),
      ) && stack.orchestrator.functions().get('orders')?.replicas.length === 3,
    { message: 'subscribers ready' },
  );
});

afterAll(async () => {
  await stack?.close();
  await new Promise<void>((r) => external?.close(() => r()));
});

afterEach(() => {
  stack.replicas.received.length = 0;
  stack.replicas.behaviours.clear();
  externalReceived.length = 0;
});

interface Report {
  event: string;
  deliveries: {
    function: string | null;
    replica: string | null;
    url?: string;
    status: number | null;
    error: string | null;
    attempts: number;
    durationMs: number;
  }[];
}

async function publishWithReport(path: string, init: RequestInit = {}, base = stack.url) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    ...init,
    headers: { prefer: 'return=representation', ...(init.headers as Record<string, string>) },
  });
  return { res, report: (await res.json()) as Report };
}

describe('publish-event fan-out', () => {
  it('sends the request to every ready replica of every subscriber and to external subscribers, then 204', async () => {
    const res = await rawRequest({
      url: stack.url,
      path: '/publish-event/created/orders/new?id=7',
      method: 'PUT',
      body: '{"id":7}',
      headers: { 'content-type': 'application/json', 'x-custom': 'yes', connection: 'x-custom' },
    });
    expect(res.status).toBe(204);
    const got = stack.replicas.received.map((r) => r.replica).sort();
    expect(got).toEqual(['billing-0', 'orders-0', 'orders-1', 'orders-2']);
    for (const r of stack.replicas.received) {
      expect(r).toMatchObject({ method: 'PUT', url: '/orders/new?id=7', body: '{"id":7}' });
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-custom']).toBeUndefined();
      expect(r.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(r.headers['content-length']).toBe('8');
    }
    expect(externalReceived).toEqual(['PUT /hooks/orders/new?id=7']);
  });

  it('forwards the body and end-to-end headers for GET and DELETE too', async () => {
    const res = await rawRequest({
      url: stack.url,
      path: '/publish-event/created',
      method: 'DELETE',
      headers: { accept: 'text/plain', cookie: 'a=b', 'content-length': '3' },
      body: 'abc',
    });
    expect(res.status).toBe(204);
    expect(stack.replicas.received).toHaveLength(4);
    for (const r of stack.replicas.received) {
      expect(r).toMatchObject({ method: 'DELETE', url: '/', body: 'abc' });
      expect(r.headers).toMatchObject({ accept: 'text/plain', cookie: 'a=b' });
    }
    expect(externalReceived).toEqual(['DELETE /hooks/']);
  });

  it('answers 200 with one report entry per replica under Prefer: return=representation', async () => {
    stack.replicas.behaviours.set('/nope', (_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const { res, report } = await publishWithReport('/publish-event/created/nope');
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('return=representation');
    expect(report.event).toBe('created');
    const rows = report.deliveries.map(({ durationMs: _, ...rest }) => rest);
    expect(rows).toEqual([
      { function: 'orders', replica: 'orders-0', status: 404, error: null, attempts: 1 },
      { function: 'orders', replica: 'orders-1', status: 404, error: null, attempts: 1 },
      { function: 'orders', replica: 'orders-2', status: 404, error: null, attempts: 1 },
      { function: 'billing', replica: 'billing-0', status: 404, error: null, attempts: 1 },
      {
        function: null,
        replica: null,
        url: expect.stringMatching(/\/hooks\/$/) as unknown,
        status: 202,
        error: null,
        attempts: 1,
      },
    ]);
    for (const d of report.deliveries) expect(d.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('retries a retryable status and a reset connection, but not other statuses', async () => {
    const failures = new Map<string, number>();
    stack.replicas.behaviours.set('/flaky', (req, res, received) => {
      const n = (failures.get(received.replica) ?? 0) + 1;
      failures.set(received.replica, n);
      if (received.replica === 'billing-0' && n === 1) return req.socket.destroy();
      res.writeHead(n === 1 ? 503 : 200);
      res.end();
    });
    const { report } = await publishWithReport('/publish-event/created/flaky');
    const byReplica = new Map(report.deliveries.map((d) => [d.replica, d]));
    for (const id of ['orders-0', 'orders-1', 'orders-2', 'billing-0'])
      expect(byReplica.get(id), id).toMatchObject({ status: 200, error: null, attempts: 2 });
  });

  it('stops after TimeoutRetries and reports the last status', async () => {
    stack.replicas.behaviours.set('/down', (_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const { report } = await publishWithReport('/publish-event/created/down');
    const billing = report.deliveries.find((d) => d.function === 'billing');
    expect(billing).toMatchObject({ status: 500, error: null, attempts: 3 });
  });

  it('keeps every attempt of a delivery within HttpTimeout', async () => {
    stack.replicas.behaviours.set('/hang', () => undefined);
    const started = Date.now();
    const { report } = await publishWithReport('/publish-event/slow/hang');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(report.deliveries).toHaveLength(1);
    expect(report.deliveries[0]).toMatchObject({
      function: 'slowpoke',
      status: null,
      error: 'upstream_timeout',
    });
    expect(report.deliveries[0]?.durationMs).toBeLessThan(1000);
  });

  it('does not wake a subscriber at zero, and still answers 204', async () => {
    const { res, report } = await publishWithReport('/publish-event/nap');
    expect(res.status).toBe(200);
    expect(report.deliveries).toEqual([]);
    expect((await fetch(`${stack.url}/publish-event/nap`, { method: 'POST' })).status).toBe(204);
    expect(stack.orchestrator.scaleCalls.filter((c) => c.name === 'sleeper')).toEqual([]);
    expect(stack.activity.get('sleeper').lastActivityMs).toBe(0);
  });

  it('marks each called function active while delivering', async () => {
    const before = stack.activity.get('billing').lastActivityMs;
    await fetch(`${stack.url}/publish-event/created`, { method: 'POST' });
    expect(stack.activity.get('billing').lastActivityMs).toBeGreaterThan(before);
    expect(stack.activity.get('billing').inFlight).toBe(0);
  });

  it('counts an external subscriber as a subscriber', async () => {
    const res = await fetch(`${stack.url}/publish-event/only-external/x?y=1`, { method: 'PATCH', body: 'z' });
    expect(res.status).toBe(204);
    expect(externalReceived).toEqual(['PATCH /x?y=1']);
    await fetch(`${stack.url}/publish-event/with-query/a?b=2`, { method: 'POST' });
    await fetch(`${stack.url}/publish-event/with-query`, { method: 'POST' });
    expect(externalReceived.slice(1)).toEqual(['POST /hook/a?token=1&b=2', 'POST /hook?token=1']);
  });

  it('answers 404 when nobody subscribes, and matches event names exactly', async () => {
    for (const path of [
      '/publish-event/unknown',
      '/publish-event/Created',
      '/publish-event/',
      '/publish-event/%ZZ',
    ]) {
      const res = await fetch(`${stack.url}${path}`, { method: 'POST' });
      expect(res.status, path).toBe(404);
    }
    expect(stack.replicas.received).toEqual([]);
  });

  it('answers 413 for a body over SLIMFAAS_MAX_REQUEST_BODY_BYTES, declared or chunked', async () => {
    const declared = await fetch(`${stack.url}/publish-event/created`, {
      method: 'POST',
      body: 'x'.repeat(1001),
    });
    expect(declared.status).toBe(413);
    const chunked = await fetch(`${stack.url}/publish-event/created`, {
      method: 'POST',
      body: new Blob(['x'.repeat(1001)]).stream(),
      duplex: 'half',
    });
    expect(chunked.status).toBe(413);
    expect(stack.replicas.received).toEqual([]);
  });
});

describe('publish-event visibility', () => {
  it('hides a private subscription from an external caller (404) but delivers it for an internal one', async () => {
    expect((await fetch(`${stack.url}/publish-event/secret`, { method: 'POST' })).status).toBe(404);
    expect(stack.replicas.received).toEqual([]);
    const { res, report } = await publishWithReport('/publish-event/secret', {}, stack.internalUrl);
    expect(res.status).toBe(200);
    expect(report.deliveries.map((d) => d.replica)).toEqual(['orders-0', 'orders-1', 'orders-2']);
  });

  it('never delivers a public event to a private path of the function, whatever its spelling', async () => {
    for (const path of [
      '/admin',
      '/Admin/x',
      '//admin',
      '/%61dmin',
      '/public/../admin',
      '/public/%2e%2e/admin',
    ]) {
      const res = await rawRequest({ url: stack.url, path: `/publish-event/created${path}`, method: 'POST' });
      expect(res.status, path).toBe(204);
    }
    // billing and the external subscriber have no such rule; orders never received any of them.
    expect(stack.replicas.received.filter((r) => r.replica.startsWith('orders'))).toEqual([]);
    expect(stack.replicas.received.filter((r) => r.replica === 'billing-0')).toHaveLength(6);
  });
});
