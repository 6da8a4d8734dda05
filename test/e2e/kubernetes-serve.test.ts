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

    slimfaas.child.kill('SIGTERM');
    expect(await slimfaas.exit).toBe(0);
  });

  it('exits with 2 and names the variable when the configuration is invalid', async () => {
    const slimfaas = serve({ SLIMFAAS_PORTS: 'http', KUBECONFIG: '/nonexistent' });
    expect(await slimfaas.exit).toBe(2);
    expect(slimfaas.output()).toContain('SLIMFAAS_PORTS');
  });
});
