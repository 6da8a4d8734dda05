import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, descendants } from '../helpers/cluster-e2e.js';
import { startCollector } from '../helpers/delivery-collector.js';
import { openSse } from '../helpers/sse-client.js';
import { FN_SERVER, startSlimFaas, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

// Faults of issue 6 in the local cluster (3 SlimFaas nodes, 3 nats-servers, streams at R3).
// The sink's async HttpTimeout is 5 s: what the killed leader had in flight is redelivered when its lease
// (HttpTimeout + 10 s) expires, so within 15 s instead of 130 s with the default timeout.
// Ports 45400–45449 (replicas) belong to this file; everything else listens on free ports.
const manifest = (collector: string): string => `
schemaVersion: 1
name: e2e-cluster-faults
cluster: { nodes: 3 }
processPorts: { from: 45400, to: 45449 }
state: { mode: ephemeral }
functions:
  sink:
    command: [node, ${FN_SERVER}]
    environment: { TEST_FUNCTION: sink, EVENT_COLLECTOR_URL: "${collector}" }
    annotations:
      SlimFaas/ReplicasMin: "1"
      SlimFaas/NumberParallelRequest: "4"
      SlimFaas/Configuration: '{"DefaultAsync":{"HttpTimeout":5}}'
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "600"
    health: { path: /health, periodSeconds: 1 }
  later:
    command: [node, ${FN_SERVER}]
    annotations:
      SlimFaas/ReplicasMin: "0"
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "600"
    health: { path: /health, periodSeconds: 1 }
  again:
    command: [node, ${FN_SERVER}]
    annotations:
      SlimFaas/ReplicasMin: "0"
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "600"
    health: { path: /health, periodSeconds: 1 }
`;

/** Node public URLs, from the `slimfaas-<i> | Node: <url> internal <url> pid <n>` lines (latest per node). */
function nodeUrls(sf: SlimFaasProcess): Map<number, string> {
  const found = new Map<number, string>();
  for (const m of sf.output().matchAll(/slimfaas-\d \| Node: (\S+) internal \S+ pid (\d+)/g)) {
    found.set(Number(m[2]), m[1] ?? '');
  }
  return found;
}

interface StatusNode {
  readonly Name: string;
  readonly Leader: boolean;
}

/** The leader as a node sees it: the `SlimFaasNodes` of its first status-stream `state` frame. */
async function leaderSeenBy(url: string): Promise<StatusNode | undefined> {
  const sse = await openSse(`${url}/status-functions-stream`);
  try {
    const frame = await sse.next((f) => f.event === 'state', 10_000);
    const nodes = (JSON.parse(frame.data) as { SlimFaasNodes: StatusNode[] }).SlimFaasNodes;
    return nodes.find((n) => n.Leader);
  } finally {
    sse.close();
  }
}

/** The node id is `<host>-<pid>-<random>`. */
function pidOf(nodeId: string): number {
  return Number(/-(\d+)-[0-9a-f]{8}$/.exec(nodeId)?.[1]);
}

/** The server leading `stream`'s Raft group, as the monitoring `/jsz` of the server configured by `conf` says. */
async function streamLeader(conf: string, stream: string): Promise<string | undefined> {
  const monitor = /http: "127\.0\.0\.1:(\d+)"/.exec(readFileSync(conf, 'utf8'))?.[1];
  const jsz = (await (await fetch(`http://127.0.0.1:${monitor}/jsz?streams=true`)).json()) as {
    account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
  };
  const streams = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
  return streams.find((s) => s.name === stream)?.cluster?.leader;
}

interface Burst {
  readonly accepted: Set<string>;
  readonly refused: Map<string, number>;
  readonly errors: number;
}

/** `count` async requests through the entrypoint, `concurrency` at a time; `onHalf` runs mid-burst. */
async function burst(url: string, prefix: string, count: number, onHalf: () => void): Promise<Burst> {
  const accepted = new Set<string>();
  const refused = new Map<string, number>();
  let errors = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      if (i === Math.floor(count / 3)) onHalf();
      const id = `${prefix}-${i}`;
      try {
        const answer = await call(`${url}/async-function/sink/event-sink/${id}`, {
          method: 'POST',
          body: id,
        });
        if (answer.status === 202) accepted.add(id);
        else refused.set(answer.body, (refused.get(answer.body) ?? 0) + 1);
      } catch {
        errors++; // the connection was cut (the killed node had accepted it): nothing was promised
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return { accepted, refused, errors };
}

describe('cluster faults (cluster.nodes: 3, NATS R3)', { timeout: 90_000 }, () => {
  let sf: SlimFaasProcess;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  const delivered = (): Set<string> =>
    new Set(collector.deliveries.map((d) => d.path.slice(d.path.lastIndexOf('/') + 1)));
  /** Waits until every 202 was delivered; on failure names the missing ids and the last warnings. */
  const allDelivered = (result: Burst): Promise<unknown> =>
    waitUntil(() => [...result.accepted].every((id) => delivered().has(id)), {
      timeoutMs: 45_000,
      message: 'every accepted message delivered',
    }).catch((error: unknown) => {
      const missing = [...result.accepted].filter((id) => !delivered().has(id));
      const log = sf
        .output()
        .split('\n')
        .filter((l) => /"level":(40|50)/.test(l))
        .slice(-15)
        .map((l) => l.slice(0, 400))
        .join('\n');
      throw new Error(`${String(error)}; ${missing.length} missing: ${missing.join(',')}\n${log}`);
    });

  beforeAll(async () => {
    collector = await startCollector();
    sf = await startSlimFaas(manifest(collector.url), {
      timeoutMs: 120_000,
      env: {
        SLIMFAAS_LOG_LEVEL: 'info',
        SLIMFAAS_SHUTDOWN_GRACE_MS: '2000',
        SLIMFAAS_LEADER_LEASE_MS: '2000',
      },
    });
    await waitUntil(async () => (await call(`${sf.url}/function/sink/health`)).status === 200, {
      timeoutMs: 30_000,
      message: 'sink answers through the entrypoint',
    });
  }, 150_000);
  afterAll(async () => {
    if (sf.child.exitCode === null) await sf.stop('SIGTERM');
    collector.server.close();
  });

  it('kill -9 of the leader node mid-burst: new leader within 5 s, every 202 delivered, scaling goes on', async () => {
    await waitUntil(() => nodeUrls(sf).size >= 3, { message: 'three Node lines' });
    const leader = await waitUntil(() => leaderSeenBy(sf.url), { timeoutMs: 20_000, message: 'a leader' });
    const leaderPid = pidOf(leader.Name);
    expect(nodeUrls(sf).has(leaderPid)).toBe(true);
    let killedAtMs = 0;
    const result = await burst(sf.url, 'lk', 240, () => {
      killedAtMs = Date.now();
      process.kill(leaderPid, 'SIGKILL');
    });
    const survivors = [...nodeUrls(sf)].filter(([pid]) => pid !== leaderPid).map(([, url]) => url);
    const newLeader = await waitUntil(
      async () => {
        const seen = await leaderSeenBy(survivors[0] ?? '').catch(() => undefined);
        return seen !== undefined && pidOf(seen.Name) !== leaderPid ? seen : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, message: 'a new leader' },
    );
    const failoverMs = Date.now() - killedAtMs;
    await allDelivered(result);
    console.log(
      `[faults] leader kill: new leader seen after ${failoverMs} ms (lease 2000 ms); ` +
        `${result.accepted.size} accepted (202), all delivered; refused ${JSON.stringify([...result.refused])}; ` +
        `${result.errors} connections cut by the kill`,
    );
    expect(failoverMs).toBeLessThan(5000 + 1000); // + one status-stream round trip on a loaded machine
    expect(pidOf(newLeader.Name)).not.toBe(leaderPid);
    expect(result.accepted.size).toBeGreaterThan(120);
    // Status and scaling continue: a function at zero is woken through the entrypoint.
    const wake = await call(`${sf.url}/function/later/echo/after-failover`);
    expect(wake.status).toBe(200);
    expect(wake.headers['x-slimfaas-cold-start']).toBe('true');
    const status = JSON.parse((await call(`${survivors[1] ?? ''}/status-function/later`)).body) as {
      NumberReady: number;
    };
    expect(status.NumberReady).toBe(1);
  });

  it('kill -9 of one nats-server mid-burst: no 202 lost, refusals are 503s, the server rejoins', async () => {
    const nats = descendants(sf.child.pid ?? 0).filter((p) => p.argv[0]?.endsWith('nats-server'));
    expect(nats).toHaveLength(3);
    // The victim is a server that does not lead the queue stream's Raft group (found through /jsz): killing
    // the stream leader can strand an accepted element (docs/nats.md, "Faults", known gap).
    const queueLeader = await streamLeader(nats[0]?.argv[2] ?? '', 'SLIMFAAS_QUEUES');
    const victim = nats.find(
      (p) =>
        queueLeader === undefined ||
        !(p.argv[2] ?? '').endsWith(`${queueLeader.replace('slimfaas-', '')}.conf`),
    );
    if (victim === undefined) throw new Error('no nats-server');
    const conf = victim.argv[2] ?? '';
    const monitor = /http: "127\.0\.0\.1:(\d+)"/.exec(readFileSync(conf, 'utf8'))?.[1];
    const result = await burst(sf.url, 'nk', 240, () => process.kill(victim.pid, 'SIGKILL'));
    expect(result.errors).toBe(0);
    for (const body of result.refused.keys()) expect(body).toContain('store_unavailable');
    await allDelivered(result);
    const refusedCount = [...result.refused.values()].reduce((a, b) => a + b, 0);
    // The supervisor restarts it with the same config, and it rejoins the JetStream cluster.
    const restarted = await waitUntil(
      () =>
        descendants(sf.child.pid ?? 0).find(
          (p) => p.argv[2] === conf && p.pid !== victim.pid && p.argv[0]?.endsWith('nats-server'),
        ),
      { timeoutMs: 20_000, message: 'nats-server restarted' },
    );
    const rejoined = await waitUntil(
      async () => {
        const jsz = (await (await fetch(`http://127.0.0.1:${monitor}/jsz`)).json().catch(() => ({}))) as {
          meta_cluster?: { leader?: string; replicas?: { current?: boolean }[] };
        };
        const leaderKnown = (jsz.meta_cluster?.leader ?? '') !== '';
        return leaderKnown ? jsz : undefined;
      },
      { timeoutMs: 30_000, message: 'restarted nats-server knows the JetStream meta leader' },
    );
    const routez = (await (await fetch(`http://127.0.0.1:${monitor}/routez`)).json()) as {
      num_routes: number;
    };
    console.log(
      `[faults] nats-server kill (queue stream leader ${queueLeader ?? '?'} kept): ${result.accepted.size} accepted (202), all delivered; ${refusedCount} refused with 503; ` +
        `restarted as pid ${restarted.pid}, meta leader ${rejoined.meta_cluster?.leader}, ${routez.num_routes} routes`,
    );
    expect(routez.num_routes).toBeGreaterThanOrEqual(2);
    expect(result.accepted.size + refusedCount).toBe(240);
    expect(result.accepted.size).toBeGreaterThan(0);
    const wake = await call(`${sf.url}/function/again/echo/after-nats-kill`);
    expect(wake.status).toBe(200);
  });
});
