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
const listCount = (h: KubeHarness, resource: string): number =>
  h.api.requests.filter((r) => r.path.endsWith(`/${resource}`) && r.query.get('watch') === null).length;

describe('KubernetesOrchestrator watches', () => {
  it('reconnects after a dropped watch and misses no change made while disconnected', async () => {
    const h = await start([{ name: 'drop', replicas: 0, annotations: FUNCTION }]);
    await waitUntil(() => h.api.openWatches === 3, { message: 'three watches open' });
    expect(h.api.dropWatches()).toBe(3);
    h.api.apply({ name: 'drop', replicas: 1, annotations: FUNCTION });
    h.api.apply({ name: 'added-meanwhile', replicas: 0, annotations: FUNCTION });
    await waitUntil(() => readyCount(h, 'drop') === 1, { message: 'drop scaled by the missed change' });
    // The pods watch may resume before the deployments watch: wait for the latter's replay too.
    await waitUntil(() => h.state('added-meanwhile'), { message: 'added-meanwhile seen' });
    expect(h.state('added-meanwhile')?.requested).toBe(0);
    expect(listCount(h, 'deployments')).toBe(1);
    const resumed = h.api.requests.filter(
      (r) => r.path.endsWith('/deployments') && r.query.get('watch') === 'true',
    );
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    expect(resumed.every((r) => Number(r.query.get('resourceVersion')) > 0)).toBe(true);
  });

  describe.each(['event', 'http'] as const)('410 Gone as %s', (goneAs) => {
    it('relists when the resourceVersion is too old, and sees objects created meanwhile', async () => {
      const h = await start([{ name: 'before', replicas: 0, annotations: FUNCTION }], { goneAs });
      await waitUntil(() => h.api.openWatches === 3);
      h.api.apply({ name: 'after', replicas: 1, annotations: FUNCTION });
      h.api.compact();
      h.api.dropWatches();
      await waitUntil(() => listCount(h, 'deployments') === 2, { message: 'deployments relisted' });
      await waitUntil(() => readyCount(h, 'after') === 1, { message: 'after ready' });
      expect(h.state('before')?.requested).toBe(0);
      expect(h.logs.some((l) => l.msg?.includes('410 Gone'))).toBe(true);
    });
  });

  it('keeps retrying the first list when the API answers 500, logging the failure once', async () => {
    const h = await start([{ name: 'flaky', replicas: 1, annotations: FUNCTION }], {
      faults: [{ method: 'GET', pathIncludes: '/deployments', status: 500, times: 3 }],
    });
    expect(h.state('flaky')?.requested).toBe(1);
    const failures = h.logs.filter((l) => l.msg?.startsWith('list/watch failed'));
    expect(failures.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(failures[0]?.fields).toMatchObject({ resource: 'deployments' });
  });

  it('removes the replica of a deleted pod and announces its replacement ready', async () => {
    const h = await start([{ name: 'victim', replicas: 1, annotations: FUNCTION }]);
    await waitUntil(() => readyCount(h, 'victim') === 1);
    const old = h.state('victim')?.replicas[0];
    h.api.deletePod(old?.id ?? '');
    await waitUntil(() => !h.state('victim')?.replicas.some((r) => r.id === old?.id), {
      message: 'old replica gone',
    });
    await waitUntil(() => readyCount(h, 'victim') === 1, { message: 'replacement ready' });
    const replacement = h.state('victim')?.replicas[0];
    expect(replacement?.id).not.toBe(old?.id);
    expect(h.events).toContainEqual({ kind: 'replica-ready', name: 'victim', replicaId: replacement?.id });
    const response = await fetch(`${replacement?.origin}/hello`);
    expect(await response.json()).toMatchObject({ pod: replacement?.id, url: '/hello' });
  });

  it('never announces replica-ready for a pod that never becomes ready', async () => {
    const h = await start([
      { name: 'stuck', replicas: 0, annotations: FUNCTION },
      { name: 'control', replicas: 0, annotations: FUNCTION },
    ]);
    h.api.setPodBehaviour('stuck', { neverReady: true });
    await h.orchestrator.setReplicas('stuck', 1);
    await h.orchestrator.setReplicas('control', 1);
    await waitUntil(() => readyCount(h, 'control') === 1 && h.state('stuck')?.replicas.length === 1);
    expect(h.state('stuck')?.replicas[0]).toMatchObject({ ready: false });
    expect(h.events.filter((e) => e.kind === 'replica-ready' && e.name === 'stuck')).toEqual([]);
  });

  it('marks a pod that cannot be scheduled as an unschedulable replica', async () => {
    const h = await start([{ name: 'huge', replicas: 0, annotations: FUNCTION }]);
    h.api.setPodBehaviour('huge', { unschedulable: true });
    await h.orchestrator.setReplicas('huge', 1);
    const replica = await waitUntil(() => h.state('huge')?.replicas[0]);
    expect(replica).toMatchObject({
      ready: false,
      unschedulable: true,
      failureReason: 'Unschedulable',
      origin: '',
    });
  });

  it('gives fib only its own pods, not those of fibonacci (selector, not name prefix)', async () => {
    const h = await start([
      { name: 'fib', replicas: 1, annotations: FUNCTION },
      { name: 'fibonacci', replicas: 2, annotations: FUNCTION },
    ]);
    await waitUntil(() => readyCount(h, 'fib') === 1 && readyCount(h, 'fibonacci') === 2);
    expect(h.state('fib')?.replicas.map((r) => r.id)).toEqual(h.api.pods('fib-').map((p) => p.metadata.name));
    expect(h.state('fib')?.replicas.every((r) => !r.id.startsWith('fibonacci'))).toBe(true);
    expect(h.state('fibonacci')?.replicas).toHaveLength(2);
  });

  it('skips a function with an invalid annotation with one log line naming function, key and value', async () => {
    const h = await start([
      { name: 'broken', replicas: 0, annotations: { ...FUNCTION, 'SlimFaas/ReplicasMin': 'abc' } },
      { name: 'busy', replicas: 0, annotations: FUNCTION },
    ]);
    expect(h.state('broken')).toBeUndefined();
    await h.orchestrator.setReplicas('busy', 2);
    await waitUntil(() => readyCount(h, 'busy') === 2);
    const lines = h.logs.filter((l) => l.msg?.includes('broken'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('warn');
    expect(lines[0]?.msg).toContain('SlimFaas/ReplicasMin="abc"');
    h.api.apply({ name: 'broken', replicas: 0, annotations: { ...FUNCTION, 'SlimFaas/ReplicasMin': '0' } });
    await waitUntil(() => h.state('broken'), { message: 'fixed function appears' });
    expect(h.events).toContainEqual({ kind: 'function-changed', name: 'broken' });
  });

  it('ignores workloads without SlimFaas/Function and announces a deleted function as removed', async () => {
    const h = await start([
      { name: 'plain', replicas: 1 },
      { name: 'gone', replicas: 0, annotations: FUNCTION },
    ]);
    expect([...h.orchestrator.functions().keys()]).toEqual(['gone']);
    h.api.deleteWorkload('Deployment', 'gone');
    await waitUntil(() => h.events.some((e) => e.kind === 'function-removed' && e.name === 'gone'));
    expect(h.state('gone')).toBeUndefined();
    await expect(h.orchestrator.setReplicas('gone', 1)).rejects.toMatchObject({ code: 'function_not_found' });
  });
});
