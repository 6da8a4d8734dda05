import type { ReadableStreamReadResult } from 'node:stream/web';
import { afterEach, describe, expect, it } from 'vitest';
import type { TopologyEvent } from '../../src/core/ports.js';
import { startServer } from '../../src/http/server.js';
import { SupervisorApi } from '../../src/http/supervisor-api.js';
import { SupervisorOrchestrator } from '../../src/orchestrators/supervisor/index.js';
import { recordingLogger, testFunctionSpec } from '../contracts/orchestrator-contract.js';
import { startSupervisor, type SupervisorUnderTest } from '../helpers/supervisor-harness.js';
import { waitUntil } from '../helpers/wait-until.js';

// Replica ports 45150–45179 and the fixed API port 45180 belong to this file.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function supervisor(): Promise<SupervisorUnderTest> {
  const s = await startSupervisor({
    specs: [testFunctionSpec('alpha'), testFunctionSpec('beta')],
    processPorts: { from: 45150, to: 45179 },
    logger: recordingLogger(),
  });
  cleanups.push(() => s.close());
  return s;
}

describe('supervisor control API', () => {
  it('answers 401 without the token or with a wrong one, on every route', async () => {
    const s = await supervisor();
    const routes: [string, string][] = [
      ['GET', '/v1/topology'],
      ['GET', '/v1/topology/watch'],
      ['PUT', '/v1/functions/alpha/scale'],
      ['GET', '/nothing'],
    ];
    for (const [method, path] of routes) {
      const variants: Record<string, string>[] = [
        {},
        { 'x-slimfaas-token': 'wrong' },
        { 'x-slimfaas-token': `${s.token}x` },
      ];
      for (const headers of variants) {
        const res = await fetch(`${s.url}${path}`, {
          method,
          headers,
          ...(method === 'PUT' ? { body: '{"replicas":1}' } : {}),
        });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(await res.json()).toMatchObject({ error: 'unauthorized' });
      }
    }
    expect(s.local.functions().get('alpha')?.requested).toBe(0);
  });

  it('lists the topology, scales with 204, 404 for an unknown function, 400 for a bad name or body', async () => {
    const s = await supervisor();
    const headers = { 'x-slimfaas-token': s.token };
    const topology = (await (await fetch(`${s.url}/v1/topology`, { headers })).json()) as {
      functions: { spec: { name: string }; requested: number }[];
    };
    expect(topology.functions.map((f) => f.spec.name).sort()).toEqual(['alpha', 'beta']);
    const scale = (name: string, body: string): Promise<Response> =>
      fetch(`${s.url}/v1/functions/${name}/scale`, { method: 'PUT', headers, body });
    const ok = await scale('alpha', '{"replicas":1}');
    expect(ok.status).toBe(204);
    expect(Number(ok.headers.get('x-slimfaas-topology-seq'))).toBeGreaterThan(0);
    expect(s.local.functions().get('alpha')?.requested).toBe(1);
    expect((await scale('missing', '{"replicas":1}')).status).toBe(404);
    for (const name of ['Bad_Name', 'a%2Fb', '-dash', '%E0%A4%A']) {
      const res = await scale(name, '{"replicas":1}');
      expect(res.status, name).toBe(400);
    }
    for (const body of [
      '',
      '{}',
      '{"replicas":-1}',
      '{"replicas":1.5}',
      '{"replicas":"2"}',
      'x'.repeat(2000),
    ]) {
      expect((await scale('beta', body)).status, body.slice(0, 20)).toBe(400);
    }
    expect(s.local.functions().get('beta')?.requested).toBe(0);
    expect((await fetch(`${s.url}/v1/topology`, { method: 'POST', headers })).status).toBe(405);
  });

  it('streams a snapshot then each change as it happens', async () => {
    const s = await supervisor();
    const res = await fetch(`${s.url}/v1/topology/watch`, { headers: { 'x-slimfaas-token': s.token } });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const reader = res.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const lines: string[] = [];
    let buffered = '';
    const readLine = async (): Promise<string> => {
      while (!buffered.includes('\n')) {
        const chunk: ReadableStreamReadResult<Uint8Array> = await reader.read();
        if (chunk.done) throw new Error('stream ended');
        buffered += new TextDecoder().decode(chunk.value);
      }
      const line = buffered.slice(0, buffered.indexOf('\n'));
      buffered = buffered.slice(line.length + 1);
      lines.push(line);
      return line;
    };
    expect(JSON.parse(await readLine())).toMatchObject({ type: 'snapshot', seq: 0 });
    await s.local.setReplicas('beta', 1);
    expect(JSON.parse(await readLine())).toMatchObject({
      type: 'event',
      seq: 1,
      event: { kind: 'function-changed', name: 'beta' },
      function: { requested: 1 },
    });
    await reader.cancel();
  });
});

describe('SupervisorOrchestrator reconnects', () => {
  it('reopens a lost watch, and announces what changed meanwhile', async () => {
    const s = await supervisor();
    // A second API on a fixed port, so it can be stopped and started again at the same address.
    let api = new SupervisorApi({ orchestrator: s.local, token: s.token, logger: recordingLogger() });
    let server = await startServer(api.handle, { host: '127.0.0.1', port: 45180 });
    cleanups.push(async () => {
      api.close();
      await server.close(0);
    });
    const node = new SupervisorOrchestrator({ url: server.url, token: s.token, logger: recordingLogger() });
    cleanups.push(() => node.close());
    await node.start();
    const events: TopologyEvent[] = [];
    node.subscribe((event) => events.push(event));

    api.close();
    await server.close(0);
    await s.local.setReplicas('alpha', 1);
    await waitUntil(
      () =>
        s.local
          .functions()
          .get('alpha')
          ?.replicas.some((r) => r.ready),
      {
        message: 'alpha ready on the supervisor',
      },
    );
    expect(node.functions().get('alpha')?.requested).toBe(0);

    api = new SupervisorApi({ orchestrator: s.local, token: s.token, logger: recordingLogger() });
    server = await startServer(api.handle, { host: '127.0.0.1', port: 45180 });
    await waitUntil(
      () =>
        node
          .functions()
          .get('alpha')
          ?.replicas.some((r) => r.ready),
      {
        timeoutMs: 15_000,
        message: 'node sees alpha ready after reconnecting',
      },
    );
    expect(node.functions().get('alpha')?.requested).toBe(1);
    expect(events).toContainEqual({ kind: 'function-changed', name: 'alpha' });
    expect(events.some((e) => e.kind === 'replica-ready' && e.name === 'alpha')).toBe(true);
  });

  it('fails start() with orchestrator_unavailable when no supervisor answers', async () => {
    const node = new SupervisorOrchestrator({
      url: 'http://127.0.0.1:45181',
      token: 't',
      logger: recordingLogger(),
      startTimeoutMs: 500,
    });
    cleanups.push(() => node.close());
    await expect(node.start()).rejects.toMatchObject({ code: 'orchestrator_unavailable' });
  });
});
