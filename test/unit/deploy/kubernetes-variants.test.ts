import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kustomizeResources, type ManifestObject } from '../../helpers/kustomize-resources.js';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy', 'kubernetes');

function find<T>(objects: readonly ManifestObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found as unknown as T;
}
function container(workload: V1Deployment | V1StatefulSet, name: string): V1Container {
  const found = workload.spec?.template.spec?.containers.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no container ${name}`);
  return found;
}
const env = (c: V1Container, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;
const port = (c: V1Container, name: string): number | undefined =>
  c.ports?.find((p) => p.name === name)?.containerPort;

describe('deploy/kubernetes/single', () => {
  const objects = kustomizeResources(DEPLOY, join(DEPLOY, 'single'));
  const slimfaas = find<V1Deployment>(objects, 'Deployment', 'slimfaas');

  it('runs one replica, replaced with Recreate (the embedded store has one writer)', () => {
    expect(slimfaas.spec?.replicas).toBe(1);
    expect(slimfaas.spec?.strategy?.type).toBe('Recreate');
    expect(env(container(slimfaas, 'slimfaas'), 'SLIMFAAS_STORE') ?? 'embedded').toBe('embedded');
  });

  it('keeps SLIMFAAS_STATE_DIRECTORY on the PersistentVolumeClaim', () => {
    const c = container(slimfaas, 'slimfaas');
    const mount = c.volumeMounts?.find((m) => m.mountPath === env(c, 'SLIMFAAS_STATE_DIRECTORY'));
    const volume = slimfaas.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    const claim = volume?.persistentVolumeClaim?.claimName ?? '';
    expect(find(objects, 'PersistentVolumeClaim', claim)).toBeDefined();
  });
});

describe('deploy/kubernetes/cluster', () => {
  const objects = kustomizeResources(DEPLOY, join(DEPLOY, 'cluster'));
  const slimfaas = find<V1StatefulSet>(objects, 'StatefulSet', 'slimfaas');
  const nats = find<V1StatefulSet>(objects, 'StatefulSet', 'nats');
  const natsContainer = container(nats, 'nats');
  const natsReplicas = nats.spec?.replicas ?? 0;
  const natsService = find<{ spec: { clusterIP?: string; publishNotReadyAddresses?: boolean } }>(
    objects,
    'Service',
    nats.spec?.serviceName ?? '',
  );
  const conf =
    find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'nats-config').data['nats.conf'] ?? '';

  it('runs 3 SlimFaas replicas as a StatefulSet with a governing headless Service', () => {
    expect(slimfaas.spec?.replicas).toBe(3);
    const headless = find<{ spec: { clusterIP?: string } }>(
      objects,
      'Service',
      slimfaas.spec?.serviceName ?? '',
    );
    expect(headless.spec.clusterIP).toBe('None');
    expect(slimfaas.spec?.template.spec?.volumes?.some((v) => v.persistentVolumeClaim)).toBe(false);
  });

  it('points SLIMFAAS_STORE at every NATS pod by its stable DNS name and client port, replicated on all', () => {
    const c = container(slimfaas, 'slimfaas');
    const urls = (env(c, 'SLIMFAAS_STORE') ?? '').split(',').map((u) => new URL(u));
    const service = nats.spec?.serviceName ?? '';
    expect(urls.map((u) => u.hostname)).toEqual(
      Array.from({ length: natsReplicas }, (_, i) => `${nats.metadata?.name}-${i}.${service}`),
    );
    for (const url of urls) {
      expect(url.protocol).toBe('nats:');
      expect(Number(url.port)).toBe(port(natsContainer, 'client'));
    }
    expect(env(c, 'SLIMFAAS_NATS_REPLICAS')).toBe(String(natsReplicas));
  });

  it('runs 3 NATS nodes on persistent volumes behind a headless Service that publishes not-ready pods', () => {
    expect(natsReplicas).toBe(3);
    expect(natsService.spec.clusterIP).toBe('None');
    expect(natsService.spec.publishNotReadyAddresses).toBe(true);
    const data = nats.spec?.volumeClaimTemplates?.find((t) => t.metadata?.name === 'data');
    expect(data?.spec?.resources?.requests?.['storage']).toBeDefined();
    expect(natsContainer.volumeMounts?.find((m) => m.name === 'data')?.mountPath).toBe(
      /store_dir:\s*"([^"]+)"/.exec(conf)?.[1],
    );
  });

  it('configures NATS ports, one JetStream server_name per pod and routes to every pod, as the container and Service declare', () => {
    expect(Number(/^port:\s*(\d+)/m.exec(conf)?.[1])).toBe(port(natsContainer, 'client'));
    expect(Number(/^http_port:\s*(\d+)/m.exec(conf)?.[1])).toBe(port(natsContainer, 'monitor'));
    const clusterPort = Number(/cluster\s*\{[^}]*?\n\s*port:\s*(\d+)/s.exec(conf)?.[1]);
    expect(clusterPort).toBe(port(natsContainer, 'cluster'));
    expect(conf).toMatch(/^server_name:\s*\$SERVER_NAME$/m);
    expect(natsContainer.env?.find((e) => e.name === 'SERVER_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe(
      'metadata.name',
    );
    const routes = [...conf.matchAll(/nats:\/\/([a-z0-9.-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(routes).toEqual(
      Array.from({ length: natsReplicas }, (_, i) => `nats-${i}.${nats.spec?.serviceName}:${clusterPort}`),
    );
    for (const probe of [
      natsContainer.readinessProbe,
      natsContainer.livenessProbe,
      natsContainer.startupProbe,
    ]) {
      expect(probe?.httpGet?.path).toMatch(/^\/healthz/);
      expect(probe?.httpGet?.port).toBe('monitor');
    }
  });

  it('has a nats.conf that nats-server itself accepts (nats-server -t)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slimfaas-nats-conf-'));
    try {
      writeFileSync(join(dir, 'nats.conf'), conf);
      const out = execFileSync('nats-server', ['-t', '-c', join(dir, 'nats.conf')], {
        env: { PATH: process.env['PATH'] ?? '', SERVER_NAME: 'nats-0' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 20_000,
      });
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a NATS quorum and SlimFaas serving through drains (PodDisruptionBudgets)', () => {
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    expect(pdbs.map((p) => [p.metadata.name, (p.spec as { maxUnavailable: number }).maxUnavailable])).toEqual(
      [
        ['nats', 1],
        ['slimfaas', 1],
      ],
    );
  });
});
