import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { CLI } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

/**
 * `slimfaas serve` without KUBECONFIG: the real in-cluster path of @kubernetes/client-node
 * (`loadFromCluster`) reads the service-account token, CA and namespace files (under
 * SLIMFAAS_IN_CLUSTER_PATH_PREFIX) and KUBERNETES_SERVICE_HOST/PORT, and talks HTTPS, verified
 * against that CA, to the fake API server.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SERVICE_ACCOUNT = join('var', 'run', 'secrets', 'kubernetes.io', 'serviceaccount');
const TOKEN = 'in-cluster-token-7f3a';
const NAMESPACE = 'functions-ns';

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 30_000 });
}

/** A self-signed CA and a server certificate it signed, for 127.0.0.1 (subjectAltName IP). */
function makeCertificates(dir: string, caName: string): { caCert: string; key: string; cert: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    dir,
    ['req', '-x509', ...ec, '-keyout', `${caName}.key`, '-out', `${caName}.crt`, '-days', '1'].concat([
      '-subj',
      `/CN=${caName}`,
    ]),
  );
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    dir,
    ['x509', '-req', '-in', 'server.csr', '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`].concat([
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-extfile',
      'server.ext',
    ]),
  );
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  return { caCert: read(`${caName}.crt`), key: read('server.key'), cert: read('server.crt') };
}

/** A fake API over HTTPS that requires the token, and a path prefix holding the service-account files. */
async function inClusterFixture(options: { trustedCa: 'server' | 'other' }) {
  const dir = mkdtempSync(join(tmpdir(), 'slimfaas-in-cluster-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const tls = makeCertificates(dir, 'fake-kube-ca');
  const ca = options.trustedCa === 'server' ? tls.caCert : makeCertificates(dir, 'other-ca').caCert;
  const api = await FakeKubeApi.start({
    namespace: NAMESPACE,
    tls: { key: tls.key, cert: tls.cert },
    requireToken: TOKEN,
    pods: { readyDelayMs: 100 },
  });
  cleanups.push(() => api.close());
  const root = join(dir, 'root');
  mkdirSync(join(root, SERVICE_ACCOUNT), { recursive: true });
  writeFileSync(join(root, SERVICE_ACCOUNT, 'token'), TOKEN);
  writeFileSync(join(root, SERVICE_ACCOUNT, 'ca.crt'), ca);
  writeFileSync(join(root, SERVICE_ACCOUNT, 'namespace'), NAMESPACE);
  return { api, root };
}

/** `node dist/cli.js serve` with only the in-cluster environment (no KUBECONFIG, no NAMESPACE). */
function serveInCluster(api: FakeKubeApi, root: string) {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      SLIMFAAS_LOG_LEVEL: 'warn',
      SLIMFAAS_PORTS: '0',
      // SlimFaas's own names: one read as an alias, one that has no effect here (a warning).
      Workers__ScaleReplicasDelayMilliseconds: '100',
      REPLICAS_SYNCHRONISATION_WORKER_DELAY_MILLISECONDS: '3000',
      SLIMFAAS_IN_CLUSTER_PATH_PREFIX: root,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: new URL(api.url).port,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out };
}

describe('slimfaas serve with the in-cluster configuration', () => {
  it('reads the service account files, talks verified HTTPS with the token, watches the namespace from the file, and proxies to a pod', async () => {
    const { api, root } = await inClusterFixture({ trustedCa: 'server' });
    expect(api.url).toMatch(/^https:\/\//);
    api.apply({ name: 'hello', replicas: 0, annotations: { 'SlimFaas/Function': 'true' } });
    const slimfaas = serveInCluster(api, root);
    const url = await waitUntil(() => /Entrypoint: (http:\/\/\S+)/.exec(slimfaas.output())?.[1], {
      timeoutMs: 20_000,
      message: `Entrypoint line; output so far: ${slimfaas.output()}`,
    });

    expect(slimfaas.output()).toContain(
      'warning: REPLICAS_SYNCHRONISATION_WORKER_DELAY_MILLISECONDS is a SlimFaas setting with no effect here',
    );
    const listed = (await (await fetch(`${url}/status-functions`)).json()) as { Name: string }[];
    expect(listed.map((fn) => fn.Name)).toEqual(['hello']);

    const response = await fetch(`${url}/function/hello/greet?x=1`);
    expect(response.status).toBe(200);
    expect(api.podRequests('hello').map((r) => r.url)).toContain('/greet?x=1');

    // Every call went to the namespace of the file, carried the token file's bearer token, and none was refused.
    expect(api.requests.length).toBeGreaterThan(0);
    expect(api.requests.every((r) => r.path.includes(`/namespaces/${NAMESPACE}/`))).toBe(true);
    expect(api.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(api.requests.filter((r) => r.status === 401 || r.status === 404)).toEqual([]);
    expect(api.requests.some((r) => r.path.endsWith('/deployments/hello/scale') && r.status === 200)).toBe(
      true,
    );
  }, 60_000);

  it('refuses an API server whose certificate the service-account CA did not sign', async () => {
    const { api, root } = await inClusterFixture({ trustedCa: 'other' });
    api.apply({ name: 'hello', replicas: 0, annotations: { 'SlimFaas/Function': 'true' } });
    const slimfaas = serveInCluster(api, root);
    await waitUntil(() => /unable to verify|self.signed|certificate/i.test(slimfaas.output()), {
      timeoutMs: 20_000,
      message: `a TLS verification error in the logs; output so far: ${slimfaas.output()}`,
    });
    expect(slimfaas.output()).not.toContain('Entrypoint:');
    expect(api.requests).toEqual([]);
  }, 60_000);
});
