import { ApiException, BatchV1Api, Watch, type V1Job } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { waitUntil } from '../helpers/wait-until.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<{ api: FakeKubeApi; batch: BatchV1Api }> {
  const api = await FakeKubeApi.start({ namespace: 'jobs-ns' });
  cleanups.push(() => api.close());
  return { api, batch: api.kubeConfig().makeApiClient(BatchV1Api) };
}

function job(name: string): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'slimfaas/job': 'fibonacci' } },
    spec: {
      template: {
        spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'example/job:latest', env: [] }] },
      },
    },
  };
}

describe('the fake Kubernetes API serves batch/v1 Jobs to the real client', () => {
  it('creates, lists and deletes a Job through BatchV1Api', async () => {
    const { api, batch } = await start();

    const created = await batch.createNamespacedJob({ namespace: api.namespace, body: job('fib-1') });
    expect(created.metadata).toMatchObject({ name: 'fib-1', namespace: 'jobs-ns' });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.resourceVersion).toBeTruthy();

    const list = await batch.listNamespacedJob({ namespace: api.namespace });
    expect(list.items.map((j) => j.metadata?.name)).toEqual(['fib-1']);
    expect(list.metadata?.resourceVersion).toBeTruthy();

    const status = await batch.deleteNamespacedJob({
      name: 'fib-1',
      namespace: api.namespace,
      propagationPolicy: 'Background',
    });
    expect(status.status).toBe('Success');
    expect((await batch.listNamespacedJob({ namespace: api.namespace })).items).toEqual([]);
    expect(api.pods()).toEqual([]);
  });

  it('answers 409 for a name already taken and 404 when deleting a missing Job', async () => {
    const { api, batch } = await start();
    await batch.createNamespacedJob({ namespace: api.namespace, body: job('fib-2') });

    const conflict = await batch
      .createNamespacedJob({ namespace: api.namespace, body: job('fib-2') })
      .catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(ApiException);
    expect((conflict as ApiException<unknown>).code).toBe(409);

    const missing = await batch
      .deleteNamespacedJob({ name: 'nope', namespace: api.namespace })
      .catch((error: unknown) => error);
    expect((missing as ApiException<unknown>).code).toBe(404);
  });

  it('streams ADDED, the controller status MODIFIED and DELETED Job events to a watch from the list version', async () => {
    const { api, batch } = await start();
    const list = await batch.listNamespacedJob({ namespace: api.namespace });
    const seen: string[] = [];
    const controller = await new Watch(api.kubeConfig()).watch(
      `/apis/batch/v1/namespaces/${api.namespace}/jobs`,
      { resourceVersion: list.metadata?.resourceVersion ?? '0' },
      (type: string, object: V1Job) => seen.push(`${type} ${object.metadata?.name ?? ''}`),
      () => undefined,
    );
    cleanups.push(() => controller.abort());

    await batch.createNamespacedJob({ namespace: api.namespace, body: job('fib-3') });
    await waitUntil(() => seen.includes('MODIFIED fib-3'), { message: 'status from the Job controller' });
    await batch.deleteNamespacedJob({ name: 'fib-3', namespace: api.namespace });

    await waitUntil(() => seen.includes('DELETED fib-3'), {
      timeoutMs: 5_000,
      message: `events: ${seen.join(', ')}`,
    });
    expect(seen[0]).toBe('ADDED fib-3');
    expect(seen.at(-1)).toBe('DELETED fib-3');
  });

  it('runs a Job: a pod with the controller labels and an IP, then status succeeded with Complete', async () => {
    const { api, batch } = await start();
    await batch.createNamespacedJob({ namespace: api.namespace, body: job('fib-4') });
    const done = await waitUntil(async () => {
      const read = await batch.readNamespacedJob({ name: 'fib-4', namespace: api.namespace });
      return read.status?.succeeded === 1 ? read : undefined;
    });
    expect(done.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      'SuccessCriteriaMet=True',
      'Complete=True',
    ]);
    expect(done.status?.completionTime).toBeInstanceOf(Date);
    const [pod, ...others] = api.pods('fib-4-');
    expect(others).toEqual([]);
    expect(pod?.metadata.labels).toMatchObject({
      'job-name': 'fib-4',
      'batch.kubernetes.io/job-name': 'fib-4',
    });
    expect(pod?.status?.['phase']).toBe('Succeeded');
    expect(String(pod?.status?.['podIP'])).toMatch(/^127\.0\.\d+\.\d+$/);
  });

  it('orphans the pods of a Job deleted without propagationPolicy, as the batch/v1 API does', async () => {
    const { api, batch } = await start();
    const body = job('fib-5');
    body.spec?.template.spec?.containers[0]?.env?.push({ name: 'FAKE_JOB_RUN_MS', value: 'never' });
    await batch.createNamespacedJob({ namespace: api.namespace, body });
    await waitUntil(() => api.pods('fib-5-').length === 1);
    await batch.deleteNamespacedJob({ name: 'fib-5', namespace: api.namespace });
    expect(api.pods('fib-5-')).toHaveLength(1);
  });

  it('filters lists by labelSelector and refuses one it cannot parse', async () => {
    const { api, batch } = await start();
    await batch.createNamespacedJob({ namespace: api.namespace, body: job('fib-6') });
    const names = async (labelSelector: string): Promise<(string | undefined)[]> =>
      (await batch.listNamespacedJob({ namespace: api.namespace, labelSelector })).items.map(
        (j) => j.metadata?.name,
      );
    expect(await names('slimfaas/job')).toEqual(['fib-6']);
    expect(await names('slimfaas/job=fibonacci')).toEqual(['fib-6']);
    expect(await names('slimfaas/job in (other,fibonacci)')).toEqual(['fib-6']);
    expect(await names('!slimfaas/job')).toEqual([]);
    expect(await names('slimfaas/job!=fibonacci')).toEqual([]);
    const bad = await names('a b c').catch((error: unknown) => error);
    expect((bad as ApiException<unknown>).code).toBe(400);
  });
});
