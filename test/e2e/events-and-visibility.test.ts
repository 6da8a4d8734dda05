import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw-http.js';
import { FN_SERVER, startSlimFaas, status, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

/** Port range 43000–43299 is this file's. */
function manifest(collectorUrl: string): string {
  const fn = (
    name: string,
    annotations: Record<string, string>,
    environment: Record<string, string> = {},
  ) => `
  ${name}:
    command: [node, ${FN_SERVER}]
    environment: ${JSON.stringify({ TEST_FUNCTION: name, EVENT_COLLECTOR_URL: collectorUrl, ...environment })}
    annotations: ${JSON.stringify(annotations)}
    health: { path: /health }`;
  const fastRetries =
    '{"DefaultPublish":{"HttpTimeout":10,"TimeoutRetries":[0.1,0.1,0.1],"HttpStatusRetries":[500]}}';
  return `
schemaVersion: 1
name: e2e-events
processPorts: { from: 43000, to: 43299 }
state: { mode: ephemeral }
functions:${[
    fn('orders', {
      'SlimFaas/ReplicasMin': '3',
      'SlimFaas/ReplicasAtStart': '3',
      'SlimFaas/SubscribeEvents': 'Public:created,Private:secret',
      'SlimFaas/PathsStartWithVisibility': 'Private:/echo/admin',
    }),
    fn('billing', { 'SlimFaas/ReplicasMin': '1', 'SlimFaas/SubscribeEvents': 'created' }),
    fn(
      'flaky',
      {
        'SlimFaas/ReplicasMin': '1',
        'SlimFaas/SubscribeEvents': 'flaky-event',
        'SlimFaas/Configuration': fastRetries,
      },
      { FAIL_FIRST_N: '2' },
    ),
    fn('vault', { 'SlimFaas/ReplicasMin': '1', 'SlimFaas/DefaultVisibility': 'Private' }),
    fn('trusted-caller', { 'SlimFaas/ReplicasMin': '1' }),
    fn('untrusted-caller', { 'SlimFaas/ReplicasMin': '1', 'SlimFaas/DefaultTrust': 'Untrusted' }),
    fn('sleeper', { 'SlimFaas/ReplicasMin': '0', 'SlimFaas/SubscribeEvents': 'nap' }),
    fn('alarm', { 'SlimFaas/ReplicasMin': '0' }),
  ].join('')}
`;
}

interface EventRecord {
  function: string;
  replica: string;
  attempt: number;
  failed: boolean;
  method: string;
  path: string;
  body: string;
  headers: Record<string, string>;
}

interface Report {
  event: string;
  deliveries: {
    function: string;
    replica: string;
    status: number | null;
    error: string | null;
    attempts: number;
  }[];
}

let sf: SlimFaasProcess;
let collector: Server;
const records: EventRecord[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      records.push(JSON.parse(body) as EventRecord);
      res.end();
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  sf = await startSlimFaas(manifest(`http://127.0.0.1:${(collector.address() as AddressInfo).port}/`));
  await waitUntil(
    async () => {
      const all = (await (await fetch(`${sf.url}/status-functions`)).json()) as {
        Name: string;
        NumberReady: number;
      }[];
      const ready = new Map(all.map((s) => [s.Name, s.NumberReady]));
      return (
        ready.get('orders') === 3 &&
        ['billing', 'flaky', 'vault', 'trusted-caller', 'untrusted-caller'].every((n) => ready.get(n) === 1)
      );
    },
    { timeoutMs: 30_000, message: 'every warm function ready' },
  );
});

afterAll(async () => {
  await sf?.stop();
  await new Promise<void>((r) => (collector ? collector.close(() => r()) : r()));
});

beforeEach(() => {
  records.length = 0;
});

const received = (fn?: string) =>
  records
    .filter((r) => fn === undefined || r.function === fn)
    .map((r) => `${r.function}-${r.replica}`)
    .sort();

async function callThrough(caller: string, path: string, method = 'GET') {
  const res = await fetch(
    `${sf.url}/function/${caller}/call-slimfaas?path=${encodeURIComponent(path)}&method=${method}`,
  );
  expect(res.status).toBe(200);
  return (await res.json()) as { status: number; body: string };
}

describe('publish-event with real function processes', () => {
  it('delivers to all 3 replicas of a subscriber and to every subscribing function, then answers 204', async () => {
    const res = await fetch(`${sf.url}/publish-event/created/event-sink/order?id=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id":1}',
    });
    expect(res.status).toBe(204);
    // The publish answers after every delivery; the collector posts happen before each replica answers.
    expect(received()).toEqual(['billing-0', 'orders-0', 'orders-1', 'orders-2']);
    for (const r of records) {
      expect(r).toMatchObject({ method: 'POST', path: '/event-sink/order', body: '{"id":1}' });
      expect(r.headers['content-type']).toBe('application/json');
    }
  });

  it('lists every replica in the delivery report under Prefer: return=representation', async () => {
    const res = await fetch(`${sf.url}/publish-event/created/event-sink/report`, {
      method: 'POST',
      headers: { prefer: 'return=representation' },
    });
    expect(res.status).toBe(200);
    const report = (await res.json()) as Report;
    expect(report.event).toBe('created');
    expect(
      report.deliveries.map((d) => [d.function, d.replica, d.status, d.error, d.attempts]).sort(),
    ).toEqual([
      ['billing', 'billing-0', 200, null, 1],
      ['orders', 'orders-0', 200, null, 1],
      ['orders', 'orders-1', 200, null, 1],
      ['orders', 'orders-2', 200, null, 1],
    ]);
  });

  it('retries a replica that fails until it accepts the event', async () => {
    const res = await fetch(`${sf.url}/publish-event/flaky-event/event-sink/x`, {
      method: 'POST',
      headers: { prefer: 'return=representation' },
      body: 'payload',
    });
    const report = (await res.json()) as Report;
    expect(report.deliveries).toEqual([
      expect.objectContaining({
        function: 'flaky',
        replica: 'flaky-0',
        status: 200,
        error: null,
        attempts: 3,
      }),
    ]);
    expect(records.map((r) => [r.attempt, r.failed, r.body])).toEqual([
      [1, true, 'payload'],
      [2, true, 'payload'],
      [3, false, 'payload'],
    ]);
  });

  it('answers 404 for an event nobody subscribes to', async () => {
    expect((await fetch(`${sf.url}/publish-event/nobody`, { method: 'POST' })).status).toBe(404);
  });

  it('does not wake a subscriber at zero', async () => {
    expect((await fetch(`${sf.url}/publish-event/nap`, { method: 'POST' })).status).toBe(204);
    // A wake makes the scaler decide for every function at once; sleeper must stay at zero.
    expect((await fetch(`${sf.url}/wake-function/alarm`, { method: 'POST' })).status).toBe(204);
    await waitUntil(async () => (await status(sf.url, 'alarm')).NumberRequested > 0);
    expect(await status(sf.url, 'sleeper')).toMatchObject({ NumberRequested: 0, NumberReady: 0 });
  });
});

describe('private events and functions: internal callers only', () => {
  it('answers 404 to an outside client for a private event, and delivers nothing', async () => {
    const res = await fetch(`${sf.url}/publish-event/secret/event-sink/s`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(records).toEqual([]);
  });

  it('delivers a private event published by a trusted function', async () => {
    const res = await callThrough('trusted-caller', '/publish-event/secret/event-sink/s', 'POST');
    expect(res.status).toBe(204);
    expect(received()).toEqual(['orders-0', 'orders-1', 'orders-2']);
  });

  it('gives trusted functions the internal URL and untrusted ones the public entrypoint', async () => {
    const env = async (name: string) =>
      ((await (await fetch(`${sf.url}/function/${name}/env`)).json()) as { env: Record<string, string> }).env
        .SLIMFAAS_URL;
    const internal = await env('trusted-caller');
    expect(internal).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(internal).not.toBe(sf.url);
    expect(await env('untrusted-caller')).toBe(sf.url);
  });

  it('lets a trusted function call a private function', async () => {
    expect((await callThrough('trusted-caller', '/function/vault/echo')).status).toBe(200);
    expect((await callThrough('trusted-caller', '/function/orders/echo/admin/x')).status).toBe(200);
  });

  it('answers 404 when an untrusted function calls a private function, path or event', async () => {
    expect((await callThrough('untrusted-caller', '/function/vault/echo')).status).toBe(404);
    expect((await callThrough('untrusted-caller', '/function/orders/echo/admin/x')).status).toBe(404);
    expect((await callThrough('untrusted-caller', '/publish-event/secret/event-sink/u', 'POST')).status).toBe(
      404,
    );
    expect(records).toEqual([]);
  });
});

describe('spoofing attempts from outside', () => {
  it('ignores a forged X-Forwarded-For (and Forwarded) on a private function and a private event', async () => {
    const headers = { 'x-forwarded-for': '127.0.0.1', forwarded: 'for=127.0.0.1', 'x-real-ip': '127.0.0.1' };
    const fn = await rawRequest({ url: sf.url, path: '/function/vault/echo', headers });
    expect(fn.status).toBe(404);
    expect(JSON.parse(fn.body)).toMatchObject({ error: 'function_not_found' });
    const event = await rawRequest({ url: sf.url, path: '/publish-event/secret/x', method: 'POST', headers });
    expect(event.status).toBe(404);
  });

  // The function answers 200 on every /echo/** path: a 404 here can only come from SlimFaas.
  it.each([
    '/echo/admin',
    '/Echo/Admin',
    '/ECHO/ADMIN/x',
    '//echo//admin',
    '/%65cho/%61dmin',
    '/echo/public/../admin',
    '/echo/public/%2E%2E/admin',
    '/echo/public%2F..%2Fadmin',
    '/./echo/./admin/',
  ])('answers 404 for the private path %j spelt differently', async (path) => {
    const res = await rawRequest({ url: sf.url, path: `/function/orders${path}` });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'function_not_found' });
  });

  it('serves the public paths of the same function', async () => {
    for (const path of ['/echo/public/admin', '/echo/adm', '/echo/x?to=/echo/admin'])
      expect((await rawRequest({ url: sf.url, path: `/function/orders${path}` })).status, path).toBe(200);
  });
});
