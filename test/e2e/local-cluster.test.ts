import { existsSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, descendants as descendantProcesses } from '../helpers/cluster-e2e.js';
import { processIsGone } from '../helpers/fn-server.js';
import { FN_SERVER, startSlimFaas, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

// Ports 45200–45249 (replicas) belong to this file; everything else listens on free ports.
const manifest = `
schemaVersion: 1
name: e2e-cluster
cluster: { nodes: 3 }
processPorts: { from: 45200, to: 45249 }
state: { mode: ephemeral }
functions:
  warm:
    command: [node, ${FN_SERVER}]
    annotations:
      SlimFaas/ReplicasMin: "1"
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "600"
    health: { path: /health, periodSeconds: 1 }
  cold:
    command: [node, ${FN_SERVER}]
    annotations:
      SlimFaas/ReplicasMin: "0"
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "8"
    health: { path: /health, periodSeconds: 1 }
`;

interface NodeLine {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
}

/** Every process below `pid`. */
function descendants(pid: number): number[] {
  return descendantProcesses(pid).map((p) => p.pid);
}

/** The `slimfaas-<i> | Node: <url> internal <url> pid <n>` lines, latest per node. */
function nodes(sf: SlimFaasProcess): Map<string, NodeLine> {
  const found = new Map<string, NodeLine>();
  for (const m of sf.output().matchAll(/(slimfaas-\d) \| Node: (\S+) internal \S+ pid (\d+)/g)) {
    found.set(m[1] ?? '', { name: m[1] ?? '', url: m[2] ?? '', pid: Number(m[3]) });
  }
  return found;
}

function environ(pid: number): Map<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return new Map(
    raw
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
}

describe('local cluster mode (cluster.nodes: 3)', { timeout: 180_000 }, () => {
  let sf: SlimFaasProcess;
  beforeAll(async () => {
    sf = await startSlimFaas(manifest, {
      timeoutMs: 120_000,
      env: { SLIMFAAS_LOG_LEVEL: 'warn', SLIMFAAS_SHUTDOWN_GRACE_MS: '2000' },
    });
  }, 150_000);
  afterAll(async () => {
    if (sf.child.exitCode === null) await sf.stop('SIGKILL');
  });

  it('starts 3 nodes and 3 nats-servers, and serves a function through the entrypoint', async () => {
    await waitUntil(() => nodes(sf).size === 3, { message: 'three Node lines' });
    const children = descendants(sf.child.pid ?? 0).map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    });
    expect(children.filter((c) => c.startsWith('nats-server') || c.includes('/nats-server'))).toHaveLength(3);
    await waitUntil(async () => (await call(`${sf.url}/function/warm/health`)).status === 200, {
      timeoutMs: 30_000,
      message: 'warm answers through the entrypoint',
    });
    for (let i = 0; i < 9; i++) {
      const answer = await call(`${sf.url}/function/warm/echo/hello?i=${i}`);
      expect(answer.status).toBe(200);
    }
  });

  it('shows the same /status-functions from every node', async () => {
    const urls = [...nodes(sf).values()].map((n) => n.url);
    expect(urls).toHaveLength(3);
    await waitUntil(
      async () => {
        const bodies = await Promise.all(
          urls.map(async (url) => (await call(`${url}/status-functions`)).body),
        );
        const parsed = bodies.map((b) => JSON.parse(b) as { Name: string; NumberReady: number }[]);
        return parsed.every((p) => p.length === 2 && p.find((f) => f.Name === 'warm')?.NumberReady === 1) &&
          new Set(bodies).size === 1
          ? true
          : undefined;
      },
      { timeoutMs: 20_000, message: 'identical status on the three nodes' },
    );
  });

  it('accepts an async request on one node and delivers it', async () => {
    const node = nodes(sf).get('slimfaas-2');
    if (node === undefined) throw new Error('no node 2');
    const accepted = await call(`${node.url}/async-function/warm/event-sink/cluster-async`, {
      method: 'POST',
      body: 'payload',
    });
    expect(accepted.status).toBe(202);
    await waitUntil(
      async () => (await call(`${sf.url}/function/warm/events-received`)).body.includes('cluster-async'),
      { timeoutMs: 30_000, message: 'async request delivered' },
    );
  });

  it('binds the supervisor API to 127.0.0.1 and refuses calls without its token', async () => {
    const node = nodes(sf).get('slimfaas-0');
    if (node === undefined) throw new Error('no node 0');
    const env = environ(node.pid);
    const supervisorUrl = env.get('SLIMFAAS_SUPERVISOR_URL') ?? '';
    expect(supervisorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(`${supervisorUrl}/v1/topology`)).status).toBe(401);
    const port = new URL(supervisorUrl).port;
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
    if (external !== undefined) {
      await expect(call(`http://${external.address}:${port}/v1/topology`)).rejects.toThrow();
    }
  });

  it('keeps serving through the entrypoint when a node is killed, and restarts the node', async () => {
    const victim = nodes(sf).get('slimfaas-1');
    if (victim === undefined) throw new Error('no node 1');
    process.kill(victim.pid, 'SIGKILL');
    // Connections the dying node had already accepted are cut with it (as with any TCP balancer);
    // the claim is about new connections once it is dead. Its /proc entry turns zombie while its other
    // threads still hold the listening socket, so wait for the supervisor to have reaped it.
    await waitUntil(() => /"process":"slimfaas-1".*cluster process exited/.test(sf.output()), {
      message: 'supervisor saw node 1 exit',
    });
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push(
        await call(`${sf.url}/function/warm/echo/after-kill?i=${i}`).then(
          (a) => a.status,
          (e: unknown) => String(e),
        ),
      );
    }
    expect(statuses, sf.output().slice(-3000)).toEqual(Array.from({ length: 12 }, () => 200));
    const restarted = await waitUntil(
      () => {
        const line = nodes(sf).get('slimfaas-1');
        return line !== undefined && line.pid !== victim.pid ? line : undefined;
      },
      { timeoutMs: 60_000, message: 'node 1 restarted' },
    );
    await waitUntil(async () => (await call(`${restarted.url}/ready`)).status === 200, {
      timeoutMs: 60_000,
      message: 'restarted node ready',
    });
    expect((await call(`${restarted.url}/status-function/warm`)).body).toContain('"NumberReady":1');
  });

  it('wakes a function from zero through any node, and keeps it up while it is used', async () => {
    const urls = [sf.url, ...[...nodes(sf).values()].map((n) => n.url)];
    const readyOf = async (url: string) =>
      (JSON.parse((await call(`${url}/status-function/cold`)).body) as { NumberReady: number }).NumberReady;
    await waitUntil(async () => (await readyOf(sf.url)) === 0, {
      timeoutMs: 20_000,
      message: 'cold at zero',
    });
    const first = await new Promise<{ status: number; cold: string | undefined }>((resolve, reject) => {
      const req = request(`${urls[2]}/function/cold/echo/wake`, { agent: false, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            cold: res.headers['x-slimfaas-cold-start'] as string | undefined,
          }),
        );
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
    expect(first).toEqual({ status: 200, cold: 'true' });
    // Used through every node for longer than its 8 s idle timeout: no node may scale it back to zero.
    const seen: number[] = [];
    const until = Date.now() + 12_000;
    let i = 0;
    while (Date.now() < until) {
      const url = urls[i++ % urls.length] ?? sf.url;
      expect((await call(`${url}/function/cold/echo/busy?i=${i}`)).status).toBe(200);
      seen.push(await readyOf(urls[(i + 1) % urls.length] ?? sf.url));
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(
      seen.filter((n) => n !== 1),
      sf.output().slice(-3000),
    ).toEqual([]);
  });

  it('leaves no process and no ephemeral state behind after SIGTERM', async () => {
    const pids = descendants(sf.child.pid ?? 0);
    expect(pids.length).toBeGreaterThanOrEqual(8);
    const conf = pids
      .map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))
      .find((argv) => argv[0]?.endsWith('nats-server'))?.[2];
    expect(conf).toBeDefined();
    const stateDirectory = dirname(dirname(conf ?? ''));
    expect(existsSync(stateDirectory)).toBe(true);
    expect(await sf.stop('SIGTERM')).toBe(0);
    expect(existsSync(stateDirectory)).toBe(false);
    await waitUntil(() => pids.every((pid) => processIsGone(pid)), {
      timeoutMs: 20_000,
      message: `every child gone (${pids.join(',')})`,
    });
  });
});

describe('local cluster mode: the supervisor killed with kill -9', { timeout: 180_000 }, () => {
  it('takes every node, nats-server and function process down with it', async () => {
    let cleanupDirectory: string | undefined;
    const sf = await startSlimFaas(manifest.replace('name: e2e-cluster', 'name: e2e-cluster-kill'), {
      timeoutMs: 120_000,
      env: { SLIMFAAS_LOG_LEVEL: 'warn', SLIMFAAS_SHUTDOWN_GRACE_MS: '2000' },
    });
    try {
      await waitUntil(async () => (await call(`${sf.url}/function/warm/health`)).status === 200, {
        timeoutMs: 30_000,
        message: 'warm answers',
      });
      const pids = descendants(sf.child.pid ?? 0);
      expect(pids.length).toBeGreaterThanOrEqual(8);
      // The ephemeral state directory outlives a killed supervisor: found from a nats-server's -c argument.
      const conf = pids
        .map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))
        .find((argv) => argv[0]?.endsWith('nats-server'))?.[2];
      if (conf !== undefined) cleanupDirectory = dirname(dirname(conf));
      await sf.stop('SIGKILL');
      await waitUntil(() => pids.every((pid) => processIsGone(pid)), {
        timeoutMs: 30_000,
        message: `every child gone after kill -9 (${pids.join(',')})`,
      });
    } finally {
      if (sf.child.exitCode === null) await sf.stop('SIGKILL');
      if (cleanupDirectory !== undefined) rmSync(cleanupDirectory, { recursive: true, force: true });
    }
  });
});
