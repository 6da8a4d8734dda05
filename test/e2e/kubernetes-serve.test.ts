import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { CLI } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const FUNCTION = { 'SlimFaas/Function': 'true' } as const;
const NO_STATE_WARNING = 'SLIMFAAS_STATE_DIRECTORY is not set';

function serve(env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', SLIMFAAS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, exit, output: () => out };
}

/** A fake API and a directory holding a kubeconfig for it; both removed after the test. */
async function fakeCluster(): Promise<{ api: FakeKubeApi; dir: string }> {
  const api = await FakeKubeApi.start({ pods: { readyDelayMs: 100 } });
  cleanups.push(() => api.close());
  const dir = mkdtempSync(join(tmpdir(), 'slimfaas-serve-e2e-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'kubeconfig'), api.kubeconfigYaml());
  return { api, dir };
}

/** `slimfaas serve` against `api`; resolves with the entrypoint URL once it is printed. */
async function startServe(cluster: { api: FakeKubeApi; dir: string }, env: Record<string, string> = {}) {
  const slimfaas = serve({
    KUBECONFIG: join(cluster.dir, 'kubeconfig'),
    NAMESPACE: cluster.api.namespace,
    SLIMFAAS_PORTS: '0',
    SLIMFAAS_SCALE_INTERVAL_MS: '100',
    ...env,
  });
  const url = await waitUntil(() => /Entrypoint: (http:\/\/\S+)/.exec(slimfaas.output())?.[1], {
    timeoutMs: 20_000,
    message: `Entrypoint line; output so far: ${slimfaas.output()}`,
  });
  return { ...slimfaas, url };
}

async function enqueue(url: string, path: string, body: string): Promise<string> {
  const response = await fetch(`${url}/async-function/${path}`, { method: 'POST', body });
  expect(response.status).toBe(202);
  const id = response.headers.get('slimfaas-element-id');
  expect(id).toBeTruthy();
  return id ?? '';
}

describe('slimfaas serve against a fake Kubernetes API', () => {
  it('wakes an annotated Deployment through the scale subresource and proxies the call to its pod', async () => {
    const api = await FakeKubeApi.start({ pods: { readyDelayMs: 200 } });
    cleanups.push(() => api.close());
    api.apply({ name: 'hello', replicas: 0, annotations: { 'SlimFaas/Function': 'true' } });
    api.apply({ name: 'not-a-function', replicas: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'slimfaas-serve-e2e-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfigYaml());

    const slimfaas = serve({
      KUBECONFIG: join(dir, 'kubeconfig'),
      NAMESPACE: api.namespace,
      SLIMFAAS_PORTS: '0',
      SLIMFAAS_SCALE_INTERVAL_MS: '100',
      BASE_FUNCTION_URL: 'http://{pod_ip}:{pod_port}',
    });
    const url = await waitUntil(() => /Entrypoint: (http:\/\/\S+)/.exec(slimfaas.output())?.[1], {
      timeoutMs: 20_000,
      message: `Entrypoint line; output so far: ${slimfaas.output()}`,
    });

    const response = await fetch(`${url}/function/hello/greet?x=1`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { pod: string; url: string };
    expect(body.url).toBe('/greet?x=1');
    expect(api.pods('hello-').map((p) => p.metadata.name)).toContain(body.pod);
    expect(
      api.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/hello/scale')),
    ).toBe(true);

    const status = await fetch(`${url}/status-functions`);
    const functions = (await status.json()) as { Name: string; NumberReady: number; PodType: string }[];
    expect(functions.map((f) => f.Name)).toEqual(['hello']);
    expect(functions[0]).toMatchObject({ NumberReady: 1, PodType: 'Deployment' });
    expect(slimfaas.output()).toContain(NO_STATE_WARNING);

    slimfaas.child.kill('SIGTERM');
    expect(await slimfaas.exit).toBe(0);
  });

  it('answers a call in flight to a pod deleted while serving at once (502), and sends the next one to its replacement', async () => {
    const cluster = await fakeCluster();
    cluster.api.apply({ name: 'fragile', replicas: 0, annotations: FUNCTION });
    const slimfaas = await startServe(cluster);
    const readyPods = async (): Promise<number> => {
      const all = (await (await fetch(`${slimfaas.url}/status-functions`)).json()) as {
        NumberReady: number;
      }[];
      return all[0]?.NumberReady ?? 0;
    };
    expect((await fetch(`${slimfaas.url}/function/fragile/warm-up`)).status).toBe(200);

    // HttpTimeout is 120 s: only the deletion can end this call within the test's bound.
    const inFlight = fetch(`${slimfaas.url}/function/fragile/hang`);
    const hung = await waitUntil(() => cluster.api.podRequests('fragile-').find((r) => r.url === '/hang'), {
      timeoutMs: 10_000,
      message: 'the call at the pod',
    });
    cluster.api.deletePod(hung.pod);
    const answer = await inFlight;
    expect(answer.status).toBe(502);
    expect(((await answer.json()) as { error: string }).error).toMatch(/^upstream_/);

    await waitUntil(
      async () =>
        (await readyPods()) === 1 && !cluster.api.pods('fragile-').some((p) => p.metadata.name === hung.pod),
      { timeoutMs: 15_000, message: 'the replacement pod ready' },
    );
    const next = await fetch(`${slimfaas.url}/function/fragile/after`);
    expect(next.status).toBe(200);
    expect(((await next.json()) as { pod: string }).pod).not.toBe(hung.pod);

    slimfaas.child.kill('SIGTERM');
    expect(await slimfaas.exit).toBe(0);
  }, 60_000);

  it('delivers an async call to a pod of the woken function, with its SlimFaas-Element-Id', async () => {
    const cluster = await fakeCluster();
    cluster.api.apply({ name: 'worker', replicas: 0, annotations: FUNCTION });
    const slimfaas = await startServe(cluster);

    const id = await enqueue(slimfaas.url, 'worker/jobs/run?x=1', 'payload-async');

    const received = await waitUntil(() => cluster.api.podRequests('worker-')[0], {
      timeoutMs: 15_000,
      message: 'the async request at a worker pod',
    });
    expect(received).toMatchObject({ method: 'POST', url: '/jobs/run?x=1', body: 'payload-async' });
    expect(received.headers['slimfaas-element-id']).toBe(id);
    expect(cluster.api.pods('worker-').map((p) => p.metadata.name)).toContain(received.pod);

    slimfaas.child.kill('SIGTERM');
    expect(await slimfaas.exit).toBe(0);
  });

  it('publishes an event to every ready pod of a Deployment annotated SlimFaas/SubscribeEvents', async () => {
    const cluster = await fakeCluster();
    cluster.api.apply({
      name: 'listener',
      replicas: 2,
      annotations: { ...FUNCTION, 'SlimFaas/ReplicasMin': '2', 'SlimFaas/SubscribeEvents': 'order-created' },
    });
    cluster.api.apply({
      name: 'bystander',
      replicas: 1,
      annotations: { ...FUNCTION, 'SlimFaas/ReplicasMin': '1' },
    });
    const slimfaas = await startServe(cluster);
    await waitUntil(
      async () => {
        const res = await fetch(`${slimfaas.url}/status-function/listener`);
        return ((await res.json()) as { NumberReady: number }).NumberReady === 2;
      },
      { timeoutMs: 15_000, message: 'two ready listener pods' },
    );

    const response = await fetch(`${slimfaas.url}/publish-event/order-created/hooks/order`, {
      method: 'POST',
      body: '{"order":42}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(204);

    const received = cluster.api.podRequests('listener-');
    expect(received.map((r) => r.url)).toEqual(['/hooks/order', '/hooks/order']);
    expect(received.every((r) => r.body === '{"order":42}')).toBe(true);
    expect(new Set(received.map((r) => r.pod))).toEqual(
      new Set(cluster.api.pods('listener-').map((p) => p.metadata.name)),
    );
    expect(cluster.api.podRequests('bystander-')).toEqual([]);

    slimfaas.child.kill('SIGTERM');
    expect(await slimfaas.exit).toBe(0);
  });

  it('keeps an accepted async request across a restart when SLIMFAAS_STATE_DIRECTORY is set', async () => {
    const cluster = await fakeCluster();
    cluster.api.apply({ name: 'queued', replicas: 0, annotations: FUNCTION });
    cluster.api.setPodBehaviour('queued', { neverReady: true });
    // Does not exist yet: SlimFaas creates it.
    const env = { SLIMFAAS_STATE_DIRECTORY: join(cluster.dir, 'state', 'slimfaas') };

    const first = await startServe(cluster, env);
    const id = await enqueue(first.url, 'queued/work', 'survives-restart');
    await waitUntil(() => cluster.api.pods('queued-').length > 0, {
      timeoutMs: 15_000,
      message: 'the woken (never ready) queued pod',
    });
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(first.output()).not.toContain(NO_STATE_WARNING);
    expect(cluster.api.podRequests('queued-')).toEqual([]);

    const second = await startServe(cluster, env);
    cluster.api.setPodBehaviour('queued', { readyDelayMs: 50 });
    for (const pod of cluster.api.pods('queued-')) cluster.api.markPodReady(pod.metadata.name);

    const received = await waitUntil(() => cluster.api.podRequests('queued-')[0], {
      timeoutMs: 15_000,
      message: `the queued request after the restart; output: ${second.output()}`,
    });
    expect(received).toMatchObject({ url: '/work', body: 'survives-restart' });
    expect(received.headers['slimfaas-element-id']).toBe(id);

    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  });

  it('exits with 2 and names the variable when the configuration is invalid', async () => {
    const slimfaas = serve({ SLIMFAAS_PORTS: 'http', KUBECONFIG: '/nonexistent' });
    expect(await slimfaas.exit).toBe(2);
    expect(slimfaas.output()).toContain('SLIMFAAS_PORTS');
  });
});
