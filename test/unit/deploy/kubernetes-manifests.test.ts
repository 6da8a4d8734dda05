import { join } from 'node:path';
import type { V1Container, V1Deployment, V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readConfig, SETTINGS, type Setting } from '../../../src/config/read-config.js';
import {
  selectorMatches,
  workloadToFunction,
} from '../../../src/orchestrators/kubernetes/workload-mapping.js';
import {
  kustomizeResources,
  parseYamlFile,
  yamlFiles,
  type ManifestObject,
} from '../../helpers/kustomize-resources.js';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy', 'kubernetes');

const KNOWN_SETTINGS = new Set(
  (Object.values(SETTINGS) as Setting<unknown>[]).flatMap((s) => [s.env, ...(s.aliases ?? [])]),
);

/**
 * What src/orchestrators/kubernetes calls (listNamespaced*, watch, patchNamespaced*Scale), plus the
 * job verbs granted ahead of the jobs feature. Keep in step with the code: the Role must cover it.
 */
const REQUIRED: readonly [group: string, resource: string, verb: string][] = [
  ['apps', 'deployments', 'list'],
  ['apps', 'deployments', 'watch'],
  ['apps', 'statefulsets', 'list'],
  ['apps', 'statefulsets', 'watch'],
  ['', 'pods', 'list'],
  ['', 'pods', 'watch'],
  ['apps', 'deployments/scale', 'patch'],
  ['apps', 'statefulsets/scale', 'patch'],
  ['batch', 'jobs', 'create'],
  ['batch', 'jobs', 'list'],
  ['batch', 'jobs', 'watch'],
  ['batch', 'jobs', 'delete'],
];
/** Read-only extras the Role may grant (kubectl-style `get` of what SlimFaas already lists). */
const ALLOWED_EXTRA = new Set(
  [
    'apps/deployments',
    'apps/statefulsets',
    '/pods',
    'apps/deployments/scale',
    'apps/statefulsets/scale',
    'batch/jobs',
  ].map((r) => `${r}:get`),
);

type Variant = { readonly name: string; readonly objects: ManifestObject[] };
const VARIANTS: Variant[] = ['single', 'cluster'].map((name) => ({
  name,
  objects: kustomizeResources(DEPLOY, join(DEPLOY, name)),
}));

function find(objects: readonly ManifestObject[], kind: string, name: string): ManifestObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found;
}
const podSpec = (o: ManifestObject): V1PodSpec =>
  (o as unknown as V1Deployment).spec?.template.spec as V1PodSpec;
const isSlimFaas = (c: V1Container): boolean => (c.image ?? '').startsWith('slimfaas-ts');
function slimfaasWorkload(objects: readonly ManifestObject[]): {
  workload: ManifestObject;
  container: V1Container;
} {
  const workloads = objects.filter(
    (o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && podSpec(o).containers.some(isSlimFaas),
  );
  expect(workloads).toHaveLength(1);
  const workload = workloads[0] as ManifestObject;
  return { workload, container: podSpec(workload).containers.find(isSlimFaas) as V1Container };
}
/** The container's environment as the pod would see it (downward API fields with sample values). */
function envOf(container: V1Container): Record<string, string> {
  const samples: Record<string, string> = { 'status.podIP': '10.1.2.3', 'metadata.namespace': 'team-a' };
  return Object.fromEntries(
    (container.env ?? []).map((e) => [
      e.name,
      e.value ?? samples[e.valueFrom?.fieldRef?.fieldPath ?? ''] ?? '',
    ]),
  );
}

describe('deploy/kubernetes', () => {
  it('parses every YAML file', () => {
    const files = yamlFiles(DEPLOY);
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) expect(parseYamlFile(file).length, file).toBeGreaterThan(0);
  });

  it('keeps `kubectl apply -k deploy/kubernetes` as the single-replica variant', () => {
    const root = kustomizeResources(DEPLOY, DEPLOY).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(root).toEqual((VARIANTS[0] as Variant).objects.map((o) => `${o.kind}/${o.metadata.name}`));
  });

  describe.each(VARIANTS)('$name', ({ objects }) => {
    it('has no two objects of one kind with the same name', () => {
      const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    });

    it('gives SlimFaas only settings read-config.ts knows, with values it accepts', () => {
      const { container } = slimfaasWorkload(objects);
      expect(container.args).toEqual(['serve']);
      const env = envOf(container);
      const unknown = Object.keys(env).filter((n) => !KNOWN_SETTINGS.has(n));
      expect(unknown).toEqual([]);
      const result = readConfig(env);
      expect(result.ok ? [] : result.errors).toEqual([]);
      expect(result.ok && result.warnings).toEqual([]);
    });

    it('listens, exposes and probes the same port, with /ready and /health', () => {
      const { workload, container } = slimfaasWorkload(objects);
      const ports = envOf(container)['SLIMFAAS_PORTS']?.split(',').map(Number) ?? [];
      const declared = container.ports ?? [];
      expect(declared.map((p) => p.containerPort).sort()).toEqual([...ports].sort());
      expect(envOf(container)['SLIMFAAS_HOST']).toBe('0.0.0.0');
      const portNames = new Set(declared.map((p) => p.name));
      expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
      expect(container.livenessProbe?.httpGet?.path).toBe('/health');
      expect(portNames.has(String(container.readinessProbe?.httpGet?.port))).toBe(true);
      expect(portNames.has(String(container.livenessProbe?.httpGet?.port))).toBe(true);
      const service = find(objects, 'Service', 'slimfaas').spec as {
        selector: Record<string, string>;
        ports: { port: number; targetPort: string }[];
      };
      const labels = (workload as unknown as V1Deployment).spec?.template.metadata?.labels;
      expect(selectorMatches({ matchLabels: service.selector }, labels)).toBe(true);
      for (const port of service.ports) {
        expect(declared.find((p) => p.name === port.targetPort)?.containerPort).toBe(port.port);
      }
    });

    it('runs SlimFaas under a service account whose Role covers what the code calls, and nothing broader', () => {
      const { workload } = slimfaasWorkload(objects);
      const account = podSpec(workload).serviceAccountName ?? '';
      find(objects, 'ServiceAccount', account);
      const binding = objects.find(
        (o) =>
          o.kind === 'RoleBinding' &&
          o.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === account),
      );
      const role = find(objects, 'Role', binding?.roleRef?.name ?? '');
      const granted = new Set(
        (role.rules ?? []).flatMap((rule) =>
          rule.apiGroups.flatMap((g) =>
            rule.resources.flatMap((r) => rule.verbs.map((v) => `${g}/${r}:${v}`)),
          ),
        ),
      );
      const missing = REQUIRED.map(([g, r, v]) => `${g}/${r}:${v}`).filter((k) => !granted.has(k));
      expect(missing).toEqual([]);
      const required = new Set(REQUIRED.map(([g, r, v]) => `${g}/${r}:${v}`));
      expect([...granted].filter((k) => !required.has(k) && !ALLOWED_EXTRA.has(k))).toEqual([]);
      expect(objects.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
    });

    it('ships an example function SlimFaas reads, whose selector matches its pods; SlimFaas itself is not a function', () => {
      const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
      const functions = workloads.flatMap((o) => {
        const read = workloadToFunction(o as unknown as V1Deployment, o.kind as 'Deployment' | 'StatefulSet');
        expect(read.kind, o.metadata.name).not.toBe('invalid');
        return read.kind === 'function' ? [{ o, read }] : [];
      });
      expect(functions.map((f) => f.o.metadata.name)).toEqual(['fibonacci']);
      for (const { o, read } of functions) {
        const labels = (o as unknown as V1Deployment).spec?.template.metadata?.labels;
        expect(read.kind === 'function' && selectorMatches(read.selector, labels)).toBe(true);
      }
    });

    it('gives every PodDisruptionBudget a selector that matches a workload', () => {
      for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
        const selector = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector;
        const covered = objects.some(
          (o) =>
            (o.kind === 'StatefulSet' || o.kind === 'Deployment') &&
            selectorMatches(selector, (o as unknown as V1StatefulSet).spec?.template.metadata?.labels),
        );
        expect(covered, pdb.metadata.name).toBe(true);
      }
    });
  });
});
