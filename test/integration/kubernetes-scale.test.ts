import { afterEach, describe, expect, it } from 'vitest';
import { FUNCTION, readyCount, startKubeHarness, type KubeHarness } from '../helpers/kube-harness.js';
import { waitUntil } from '../helpers/wait-until.js';

const harnesses: KubeHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
});
async function start(...args: Parameters<typeof startKubeHarness>): Promise<KubeHarness> {
  const harness = await startKubeHarness(...args);
  harnesses.push(harness);
  return harness;
}
const patches = (h: KubeHarness) => h.api.requests.filter((r) => r.method === 'PATCH');

describe('KubernetesOrchestrator scaling', () => {
  it('merge-patches the scale subresource of a Deployment', async () => {
    const h = await start([{ name: 'web', replicas: 0, annotations: FUNCTION }]);
    await h.orchestrator.setReplicas('web', 2);
    await waitUntil(() => readyCount(h, 'web') === 2);
    expect(patches(h)).toMatchObject([
      {
        path: '/apis/apps/v1/namespaces/default/deployments/web/scale',
        contentType: 'application/merge-patch+json',
        status: 200,
      },
    ]);
    expect(h.api.store.get('deployments', 'web')?.spec?.['replicas']).toBe(2);
  });

  it('merge-patches the scale subresource of a StatefulSet and reports PodType StatefulSet', async () => {
    const h = await start([{ name: 'db', kind: 'StatefulSet', replicas: 0, annotations: FUNCTION }]);
    expect(h.state('db')?.podType).toBe('StatefulSet');
    await h.orchestrator.setReplicas('db', 1);
    await waitUntil(() => readyCount(h, 'db') === 1);
    expect(h.state('db')?.replicas[0]?.id).toBe('db-0');
    expect(patches(h)[0]?.path).toBe('/apis/apps/v1/namespaces/default/statefulsets/db/scale');
  });

  it('retries a scale patch that answers 500 and logs the failure once', async () => {
    const h = await start([{ name: 'retry', replicas: 0, annotations: FUNCTION }], {
      faults: [{ method: 'PATCH', pathIncludes: '/retry/scale', status: 500, times: 2 }],
    });
    await h.orchestrator.setReplicas('retry', 1);
    expect(h.state('retry')?.requested).toBe(1);
    await waitUntil(() => readyCount(h, 'retry') === 1, { message: 'ready after the retried patch' });
    expect(patches(h).map((r) => r.status)).toEqual([500, 500, 200]);
    const warnings = h.logs.filter((l) => l.msg?.startsWith('scale patch failed') && l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toMatchObject({ function: 'retry', replicas: 1 });
    expect(h.state('retry')?.requested).toBe(1);
  });

  it('keeps the latest desired count when asked again while a patch is failing', async () => {
    const h = await start([{ name: 'latest', replicas: 0, annotations: FUNCTION }], {
      faults: [{ method: 'PATCH', pathIncludes: '/latest/scale', status: 503, times: 2 }],
    });
    await h.orchestrator.setReplicas('latest', 3);
    await h.orchestrator.setReplicas('latest', 1);
    expect(h.state('latest')?.requested).toBe(1);
    await waitUntil(() => readyCount(h, 'latest') === 1);
    expect(h.api.store.get('deployments', 'latest')?.spec?.['replicas']).toBe(1);
  });

  it('rejects invalid counts and unknown functions, and rejects after close()', async () => {
    const h = await start([{ name: 'strict', replicas: 0, annotations: FUNCTION }]);
    await expect(h.orchestrator.setReplicas('strict', -1)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(h.orchestrator.setReplicas('nope', 1)).rejects.toMatchObject({ code: 'function_not_found' });
    await h.orchestrator.close();
    await expect(h.orchestrator.setReplicas('strict', 1)).rejects.toMatchObject({ code: 'shutting_down' });
  });

  it('follows a scale made outside SlimFaas (kubectl scale)', async () => {
    const h = await start([{ name: 'outside', replicas: 0, annotations: FUNCTION }]);
    h.api.apply({ name: 'outside', replicas: 2, annotations: FUNCTION });
    await waitUntil(() => readyCount(h, 'outside') === 2);
    expect(h.state('outside')?.requested).toBe(2);
  });
});

describe('KubernetesOrchestrator requested count', () => {
  it('follows kubectl scale after its own patch was applied', async () => {
    const h = await start([{ name: 'both', replicas: 0, annotations: FUNCTION }]);
    await h.orchestrator.setReplicas('both', 1);
    await waitUntil(() => readyCount(h, 'both') === 1);
    h.api.apply({ name: 'both', replicas: 2, annotations: FUNCTION });
    await waitUntil(() => h.state('both')?.requested === 2, { message: 'requested follows the Deployment' });
    await waitUntil(() => readyCount(h, 'both') === 2);
  });
});
