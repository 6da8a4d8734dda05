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
        spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'example/job:latest' }] },
      },
    },
  };
}

describe('the fake Kubernetes API serves batch/v1 Jobs to the real client (the Job API for later)', () => {
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

  it('streams ADDED and DELETED Job events to a watch from the list version', async () => {
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
    await batch.deleteNamespacedJob({ name: 'fib-3', namespace: api.namespace });

    await waitUntil(() => seen.length >= 2, { timeoutMs: 5_000, message: `events: ${seen.join(', ')}` });
    expect(seen).toEqual(['ADDED fib-3', 'DELETED fib-3']);
  });
});
