import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createKubernetesJobRunner } from '../../src/orchestrators/kubernetes/index.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';
import { FAKE_JOB_ENV, FakeKubeApi, type RecordedRequest } from '../helpers/fake-kube-api.js';
import { FUNCTION, readyCount, startKubeHarness } from '../helpers/kube-harness.js';
import { waitUntil } from '../helpers/wait-until.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function roleRules(): Rule[] {
  const text = readFileSync(new URL('../../deploy/kubernetes/base/rbac.yaml', import.meta.url), 'utf8');
  const role = parseAllDocuments(text)
    .map((d) => d.toJS() as { kind?: string; rules?: Rule[] })
    .find((d) => d.kind === 'Role');
  return role?.rules ?? [];
}

/** `group resource verb` of a request, as the API server's authorizer sees it. */
function permission(request: RecordedRequest): string {
  const match =
    /^\/(?:api\/v1|apis\/([^/]+)\/v1)\/namespaces\/[^/]+\/([^/]+)(?:\/([^/]+)(?:\/(\w+))?)?$/.exec(
      request.path,
    );
  if (match === null) throw new Error(`unexpected path ${request.path}`);
  const [, group = '', collection = '', name, sub] = match;
  const resource = sub === undefined ? collection : `${collection}/${sub}`;
  const verbs: Record<string, string> = { POST: 'create', DELETE: 'delete', PATCH: 'patch', PUT: 'update' };
  const verb =
    verbs[request.method] ??
    (name !== undefined ? 'get' : request.query.get('watch') === 'true' ? 'watch' : 'list');
  return `${group} ${resource} ${verb}`;
}

function granted(rules: readonly Rule[]): Set<string> {
  const all = new Set<string>();
  for (const rule of rules)
    for (const group of rule.apiGroups)
      for (const resource of rule.resources)
        for (const verb of rule.verbs) all.add(`${group} ${resource} ${verb}`);
  return all;
}

describe('deploy/kubernetes Role', () => {
  it('grants exactly the job and pod verbs the job runner uses', async () => {
    const api = await FakeKubeApi.start({ namespace: 'rbac' });
    cleanups.push(() => api.close());
    const options = { kubeConfig: api.kubeConfig(), namespace: api.namespace, logger: recordingLogger() };
    const runner = createKubernetesJobRunner(options);
    cleanups.push(() => runner.close());
    await runner.start();
    const run = {
      configName: 'rbac',
      runName: 'rbac-slimfaas-job-abcdefgh',
      elementId: 'element-1',
      image: 'example/job:1',
      args: [],
      environment: { [FAKE_JOB_ENV.runMs]: 'never' },
      backoffLimit: 0,
      ttlSecondsAfterFinished: 60,
      restartPolicy: 'Never' as const,
      createdAtMs: Date.now(),
    };
    await runner.run(run);
    await createKubernetesJobRunner(options).run(run); // 409 → get
    await waitUntil(() => api.openWatches === 2);
    expect(await runner.delete(run.runName)).toBe('deleted');

    const used = new Set(api.requests.map(permission));
    const jobVerbs = [...used].filter((p) => p.startsWith('batch jobs ')).sort();
    expect(jobVerbs).toEqual([
      'batch jobs create',
      'batch jobs delete',
      'batch jobs get',
      'batch jobs list',
      'batch jobs watch',
    ]);
    const rules = roleRules();
    const jobRule = rules.find((r) => r.resources.includes('jobs'));
    expect([...(jobRule?.verbs ?? [])].sort()).toEqual(['create', 'delete', 'get', 'list', 'watch']);
    const podRule = rules.find((r) => r.resources.includes('pods'));
    expect([...(podRule?.verbs ?? [])].sort()).toEqual(['list', 'watch']);
    for (const p of used) expect(granted(rules)).toContain(p);
  });

  it('grants every request the orchestrator makes to watch and scale functions', async () => {
    const h = await startKubeHarness([{ name: 'web', replicas: 0, annotations: FUNCTION }], {
      namespace: 'rbac',
    });
    cleanups.push(() => h.close());
    await h.orchestrator.setReplicas('web', 1);
    await waitUntil(() => readyCount(h, 'web') === 1);
    const all = granted(roleRules());
    for (const p of new Set(h.api.requests.map(permission))) expect(all).toContain(p);
  });
});
