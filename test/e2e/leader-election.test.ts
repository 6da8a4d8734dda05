import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { CLI } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

const FUNCTION = { 'SlimFaas/Function': 'true' } as const;
const LEASE_MS = 1500;
const GAINED = 'this node is now the leader';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `slimfaas serve` (port 0) on the fake API and the NATS store; resolves once it prints its entrypoint. */
async function startServe(options: { kubeconfig: string; namespace: string; nats: string }) {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      SLIMFAAS_LOG_LEVEL: 'info',
      KUBECONFIG: options.kubeconfig,
      NAMESPACE: options.namespace,
      SLIMFAAS_PORTS: '0',
      SLIMFAAS_SCALE_INTERVAL_MS: '100',
      SLIMFAAS_STORE: options.nats,
      SLIMFAAS_LEADER_LEASE_MS: String(LEASE_MS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = await waitUntil(() => /Entrypoint: (http:\/\/\S+)/.exec(out)?.[1], {
    timeoutMs: 20_000,
    message: 'Entrypoint line',
  });
  return { child, url, output: () => out };
}

describe('two `slimfaas serve` processes sharing one nats-server', () => {
  it('only the leader scales; after kill -9 of the leader the other one leads and scales', async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const api = await FakeKubeApi.start({ pods: { readyDelayMs: 100 } });
    cleanups.push(() => api.close());
    const dir = mkdtempSync(join(tmpdir(), 'slimfaas-leader-e2e-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfigYaml());
    api.apply({ name: 'hello', replicas: 0, annotations: FUNCTION });
    api.apply({ name: 'second', replicas: 0, annotations: FUNCTION });
    const options = { kubeconfig: join(dir, 'kubeconfig'), namespace: api.namespace, nats: nats.url };

    const leader = await startServe(options);
    await waitUntil(() => leader.output().includes(GAINED), { timeoutMs: 10_000 });
    const follower = await startServe(options);

    // A call on the follower: the leader scales (the follower never does), the follower proxies.
    const response = await fetch(`${follower.url}/function/hello/greet`, {
      signal: AbortSignal.timeout(20_000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-slimfaas-cold-start')).toBe('true');
    expect(leader.output()).toContain('scale hello 0 -> 1');
    expect(follower.output()).not.toContain('scale hello');
    expect(follower.output()).not.toContain(GAINED);

    const killedAtMs = Date.now();
    leader.child.kill('SIGKILL');
    await waitUntil(() => follower.output().includes(GAINED), { timeoutMs: 15_000, intervalMs: 10 });
    console.log(
      `kill -9 of the leader → new leader after ${Date.now() - killedAtMs} ms (lease ${LEASE_MS} ms)`,
    );

    const second = await fetch(`${follower.url}/function/second`, { signal: AbortSignal.timeout(20_000) });
    expect(second.status).toBe(200);
    expect(follower.output()).toContain('scale second 0 -> 1');
  });
});
