import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FN_SERVER,
  isAlive,
  startSlimFaas,
  status,
  type SlimFaasProcess,
  type StatusJson,
} from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

/** Port range 42000–42099 is this file's. */
const manifest = `
schemaVersion: 1
name: e2e-sync
processPorts: { from: 42000, to: 42099 }
state: { mode: ephemeral }
functions:
  fast:
    command: [node, ${FN_SERVER}]
    annotations:
      SlimFaas/ReplicasMin: "0"
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "2"
    health: { path: /health, periodSeconds: 5 }
  slow:
    command: [node, ${FN_SERVER}]
    environment: { START_DELAY_MS: "700" }
    annotations:
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "60"
    health: { path: /health, periodSeconds: 5 }
  never-ready:
    command: [node, ${FN_SERVER}]
    environment: { HEALTH_STATUS: "500" }
    annotations:
      SlimFaas/Configuration: '{"DefaultSync":{"HttpTimeout":1}}'
    health: { path: /health, startupTimeoutSeconds: 30 }
  base:
    command: [node, ${FN_SERVER}]
    environment: { START_DELAY_MS: "400" }
    annotations:
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "60"
    health: { path: /health }
  dependant:
    command: [node, ${FN_SERVER}]
    annotations:
      SlimFaas/DependsOn: base
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "60"
    health: { path: /health }
  hanging:
    command: [node, ${FN_SERVER}]
    annotations:
      SlimFaas/ReplicasMin: "1"
      SlimFaas/Configuration: '{"DefaultSync":{"HttpTimeout":1}}'
    health: { path: /health }
`;

let sf: SlimFaasProcess;

beforeAll(async () => {
  sf = await startSlimFaas(manifest, { env: { SLIMFAAS_MAX_REQUEST_BODY_BYTES: '3000000' } });
});

afterAll(async () => {
  await sf?.stop();
});

describe('slimfaas up: sync calls and scale to zero', () => {
  it('answers /health and /ready once the entrypoint is printed', async () => {
    expect((await fetch(`${sf.url}/health`)).status).toBe(200);
    const ready = await fetch(`${sf.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('READY');
  });

  it('reports SlimFaas status JSON with the exact field names and order', async () => {
    const res = await fetch(`${sf.url}/status-function/fast`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      '{"NumberReady":0,"NumberRequested":0,"PodType":"Process","Visibility":"Public","Name":"fast",' +
        '"Queue":{"Ready":0,"InFlight":0,"RetryPending":0,"Dead":0}}',
    );
    const all = (await (await fetch(`${sf.url}/status-functions`)).json()) as { Name: string }[];
    expect(all.map((s) => s.Name).sort()).toEqual([
      'base',
      'dependant',
      'fast',
      'hanging',
      'never-ready',
      'slow',
    ]);
  });

  it('answers 404 for an unknown function on every route', async () => {
    for (const path of [
      '/function/nope/x',
      '/status-function/nope',
      '/wake-function/nope',
      '/function/NOPE',
    ]) {
      const res = await fetch(`${sf.url}${path}`, { method: path.startsWith('/wake') ? 'POST' : 'GET' });
      expect(res.status, path).toBe(404);
    }
  });

  it('wakes a function at zero on the first call and marks the answer as a cold start', async () => {
    expect((await status(sf.url, 'fast')).NumberRequested).toBe(0);
    const res = await fetch(`${sf.url}/function/fast/echo/hello?x=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-slimfaas-cold-start')).toBe('true');
    const body = (await res.json()) as { path: string; query: string };
    expect(body.path).toBe('/echo/hello');
    const warm = await fetch(`${sf.url}/function/fast/echo/again`);
    expect(warm.headers.get('x-slimfaas-cold-start')).toBeNull();
    await warm.arrayBuffer();
  });

  it('scales an idle function back to zero after its timeout and its process is gone', async () => {
    const res = await fetch(`${sf.url}/function/fast/pid`);
    const { pid } = (await res.json()) as { pid: number };
    expect(isAlive(pid)).toBe(true);
    await waitUntil(async () => (await status(sf.url, 'fast')).NumberRequested === 0, { timeoutMs: 10_000 });
    await waitUntil(() => !isAlive(pid), { timeoutMs: 10_000, message: `pid ${pid} gone` });
    expect((await status(sf.url, 'fast')).NumberReady).toBe(0);
  });

  it('releases a held request as soon as a slow replica is ready, not at the next periodic probe', async () => {
    const started = Date.now();
    const res = await fetch(`${sf.url}/function/slow/echo/x`);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-slimfaas-cold-start')).toBe('true');
    // START_DELAY_MS is 700 and periodSeconds is 5: a periodic probe would answer after ≥ 5 s.
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(3000);
  });

  it('wake-function answers 204 and starts the function', async () => {
    const res = await fetch(`${sf.url}/wake-function/fast`, { method: 'POST' });
    expect(res.status).toBe(204);
    await waitUntil(async () => (await status(sf.url, 'fast')).NumberReady === 1, { timeoutMs: 10_000 });
  });

  it('starts a dependency before its dependant, and never the other way round', async () => {
    const samples: { base: number; depRequested: number }[] = [];
    let done = false;
    const sampler = (async () => {
      while (!done) {
        // One snapshot per sample: both functions are read atomically.
        const all = (await (await fetch(`${sf.url}/status-functions`)).json()) as StatusJson[];
        const b = all.find((f) => f.Name === 'base') as StatusJson;
        const d = all.find((f) => f.Name === 'dependant') as StatusJson;
        samples.push({ base: b.NumberReady, depRequested: d.NumberRequested });
      }
    })();
    const res = await fetch(`${sf.url}/function/dependant/echo/d`);
    done = true;
    await sampler;
    expect(res.status).toBe(200);
    expect((await status(sf.url, 'base')).NumberReady).toBe(1);
    expect(samples.some((s) => s.depRequested === 0 && s.base === 0)).toBe(true);
    expect(samples.filter((s) => s.depRequested > 0 && s.base === 0)).toEqual([]);
  });

  it('answers 504 with a JSON error when a function never becomes ready within HttpTimeout', async () => {
    const res = await fetch(`${sf.url}/function/never-ready/echo`);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: string }).error).toBe('no_ready_replica');
  });

  it('answers 504 when a ready function does not start answering within HttpTimeout', async () => {
    await waitUntil(async () => (await status(sf.url, 'hanging')).NumberReady === 1);
    const res = await fetch(`${sf.url}/function/hanging/hang`);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: string }).error).toBe('upstream_timeout');
  });

  it('answers 413 for a body over the configured limit', async () => {
    const res = await fetch(`${sf.url}/function/hanging/echo`, {
      method: 'POST',
      body: Buffer.alloc(3_000_001),
    });
    expect(res.status).toBe(413);
  });

  it('streams a 2 MiB request body to the function and passes its answer back', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const res = await fetch(`${sf.url}/function/hanging/echo/upload/`, { method: 'PUT', body });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as {
      method: string;
      path: string;
      bodyLength: number;
      headers: Record<string, string>;
    };
    expect(echo).toMatchObject({ method: 'PUT', path: '/echo/upload/', bodyLength: body.length });
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
  });
});

describe('slimfaas up: shutdown', () => {
  it('leaves no function process behind after SIGTERM', async () => {
    const pids = await Promise.all(
      ['slow', 'hanging', 'base'].map(
        async (name) =>
          ((await (await fetch(`${sf.url}/function/${name}/pid`)).json()) as { pid: number }).pid,
      ),
    );
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    expect(await sf.stop('SIGTERM')).toBe(0);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });
});
