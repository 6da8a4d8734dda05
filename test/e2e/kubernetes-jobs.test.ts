import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { CLI } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

// `slimfaas serve` runs jobs as batch/v1 Jobs through the real client library; the fake API's Job
// controller runs each Job's pod for FAKE_JOB_RUN_MS and then succeeds.
const JOBS = JSON.stringify({
  Configurations: {
    batch: {
      Image: 'registry.local/batch:1',
      ImagesWhitelist: ['registry.local/batch:*'],
      Visibility: 'Public',
      NumberParallelJob: 1,
      Environments: [{ Name: 'FAKE_JOB_RUN_MS', Value: '300' }],
    },
  },
});

interface KubeJob {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec?: {
    readonly template?: { readonly spec?: { readonly containers?: { image?: string; args?: string[] }[] } };
  };
  readonly status?: { readonly succeeded?: number; readonly failed?: number };
}

describe('jobs on Kubernetes through slimfaas serve', () => {
  let api: FakeKubeApi;
  let dir: string;
  let child: ReturnType<typeof spawn>;
  let output = '';
  let url = '';
  /** Jobs in creation order, and for each how many other Jobs were unfinished when it was created. */
  const created: { job: KubeJob; othersRunning: number }[] = [];

  const jobs = (): KubeJob[] => api.store.list('jobs');
  const finished = (job: KubeJob): boolean =>
    (job.status?.succeeded ?? 0) > 0 || (job.status?.failed ?? 0) > 0;

  beforeAll(async () => {
    api = await FakeKubeApi.start({ pods: { readyDelayMs: 50 } });
    api.apply({
      name: 'secret',
      replicas: 1,
      annotations: { 'SlimFaas/Function': 'true', 'SlimFaas/DefaultVisibility': 'Private' },
    });
    api.store.subscribe((kind, event) => {
      if (kind !== 'jobs' || event.type !== 'ADDED') return;
      const others = jobs().filter((j) => j.metadata.name !== event.object.metadata.name);
      created.push({
        job: event.object,
        othersRunning: others.filter((j) => !finished(j)).length,
      });
    });
    dir = mkdtempSync(join(tmpdir(), 'slimfaas-kube-jobs-'));
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfigYaml());
    child = spawn(process.execPath, [CLI, 'serve'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        SLIMFAAS_LOG_LEVEL: 'warn',
        KUBECONFIG: join(dir, 'kubeconfig'),
        NAMESPACE: api.namespace,
        SLIMFAAS_PORTS: '0',
        SLIMFAAS_JOBS_CONFIGURATION: JOBS,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    url = await waitUntil(() => /Entrypoint: (http:\/\/\S+)/.exec(output)?.[1], {
      timeoutMs: 30_000,
      message: `Entrypoint line; output so far: ${output}`,
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function submit(body: object): Promise<Response> {
    return fetch(`${url}/job/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  it('creates a batch/v1 Job with the request args and SlimFaas labels, then forgets the finished run', async () => {
    const response = await submit({ Args: ['42'] });
    expect(response.status).toBe(202);
    const { Id: id } = (await response.json()) as { Id: string };
    const job = await waitUntil(
      () => jobs().find((j) => j.metadata.labels?.['slimfaas-job-element-id'] === id),
      {
        timeoutMs: 20_000,
        message: 'the Job of the run',
      },
    );
    expect(job.metadata.name).toMatch(/^batch-slimfaas-job-[a-z0-9]+$/);
    expect(job.metadata.labels?.['slimfaas-job-name']).toBe(job.metadata.name);
    const container = job.spec?.template?.spec?.containers?.[0];
    expect(container?.image).toBe('registry.local/batch:1');
    expect(container?.args).toEqual(['42']);
    await waitUntil(
      async () => ((await (await fetch(`${url}/job/batch`)).json()) as unknown[]).length === 0,
      { timeoutMs: 20_000, message: 'the finished run leaves GET /job/batch' },
    );
  });

  it('runs three submissions one after another in order with NumberParallelJob 1', async () => {
    const before = created.length;
    const ids: string[] = [];
    for (const arg of ['a', 'b', 'c']) {
      const response = await submit({ Args: [arg] });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { Id: string }).Id);
    }
    await waitUntil(() => created.length - before === 3 && jobs().every(finished), {
      timeoutMs: 40_000,
      message: 'three Jobs created and finished',
    });
    const runs = created.slice(before);
    expect(runs.map((r) => r.job.metadata.labels?.['slimfaas-job-element-id'])).toEqual(ids);
    expect(runs.map((r) => r.job.spec?.template?.spec?.containers?.[0]?.args)).toEqual([['a'], ['b'], ['c']]);
    expect(runs.map((r) => r.othersRunning)).toEqual([0, 0, 0]);
  });

  it("lets a running Job's pod call a private function, and nobody else", async () => {
    const response = await submit({ Environments: [{ Name: 'FAKE_JOB_RUN_MS', Value: 'never' }] });
    expect(response.status).toBe(202);
    const { Id: id } = (await response.json()) as { Id: string };
    const pod = await waitUntil(
      () =>
        (
          api.store.list('pods') as unknown as {
            metadata: { labels?: Record<string, string> };
            status?: { podIP?: string };
          }[]
        ).find((p) => p.metadata.labels?.['slimfaas-job-element-id'] === id && p.status?.podIP !== undefined),
      { timeoutMs: 20_000, message: "the running Job's pod" },
    );
    const jobIp = pod.status?.podIP ?? '';
    const path = `${url}/function/secret/hello`;
    await waitUntil(async () => (await callFrom(path, jobIp)) === 200, {
      timeoutMs: 20_000,
      message: 'the private function answers the job pod',
    });
    // The fake cluster's function pods are 127.0.0.1 (internal callers too): an outsider is another address.
    expect(await callFrom(path, '127.0.0.9')).toBe(404);
    const deleted = await fetch(`${url}/job/batch/${id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    await waitUntil(async () => (await callFrom(path, jobIp)) === 404, {
      timeoutMs: 20_000,
      message: 'the deleted job pod is external again',
    });
  });

  it('refuses an image outside the whitelist and an unknown job', async () => {
    const refused = await submit({ Image: 'docker.io/evil:1' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('image_not_allowed');
    const unknown = await fetch(`${url}/job/nope`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
  });
});

/** The status of a GET sent from `localAddress` (any 127.x.y.z is loopback on Linux). */
function callFrom(url: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
