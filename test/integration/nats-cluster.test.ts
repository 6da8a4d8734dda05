import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueElement } from '../../src/core/state-store.js';
import type { NatsLeadership } from '../../src/stores/nats/nats-leadership.js';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait-until.js';

/** Ports 45000–45099 are this file's: clients 45000–45002, routes 45010–45012. */
const CLIENT_PORTS = [45000, 45001, 45002] as const;
const ROUTE_PORTS = [45010, 45011, 45012] as const;
const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [], httpStatusRetries: [] };
const element = (id: string): QueueElement => ({
  id,
  payload: new TextEncoder().encode(id),
  enqueuedAtMs: 0,
  policy: POLICY,
});

describe('NatsStateStore on a 3-node JetStream cluster (SLIMFAAS_NATS_REPLICAS=3)', () => {
  let cluster: NatsCluster;
  const stores: NatsStateStore[] = [];
  const leaderships: NatsLeadership[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster({ clientPorts: CLIENT_PORTS, routePorts: ROUTE_PORTS });
  }, 30_000);
  afterAll(async () => {
    for (const leadership of leaderships) await leadership.close();
    for (const store of stores) await store.close();
    await cluster?.stop();
  }, 30_000);

  /** The cluster elects its JetStream meta leader after start: opening is retried until it answers. */
  async function open(servers: readonly string[]): Promise<NatsStateStore> {
    const store = await waitUntil(
      () => NatsStateStore.open({ servers, replicas: 3, timeoutMs: 3_000 }).catch(() => undefined),
      { timeoutMs: 30_000, intervalMs: 500, message: 'the cluster accepts the store' },
    );
    stores.push(store);
    return store;
  }

  it('creates R3 streams, keeps one leader and every accepted element when a NATS node is killed', async () => {
    const [s0, s1, s2] = cluster.urls as [string, string, string];
    const a = await open([s0, s1, s2]);
    const b = await open([s1, s2, s0]);
    const key = `k${randomUUID().slice(0, 8)}`;
    for (const [i, store] of [a, b].entries()) {
      leaderships.push(store.leadership({ nodeId: `node-${i}`, leaseMs: 1_500, key }));
    }
    for (const leadership of leaderships) leadership.start();
    const oneLeader = () => leaderships.filter((l) => l.isLeader()).length === 1;
    await waitUntil(oneLeader, { timeoutMs: 15_000 });

    const nc = await connect({ servers: s2 });
    const jsm = await jetstreamManager(nc);
    for (const stream of ['SLIMFAAS_QUEUES', 'KV_slimfaas_leader', 'KV_slimfaas_activity']) {
      expect((await jsm.streams.info(stream)).config.num_replicas, stream).toBe(3);
    }
    await nc.close();

    const queue = `q-${randomUUID().slice(0, 8)}`;
    const before = Array.from({ length: 10 }, (_, i) => `before-${i}`);
    for (const id of before) expect(await a.enqueue(queue, element(id))).toBe('enqueued');

    await cluster.servers[0]!.kill();
    // Retrying an enqueue with the same id is safe (claim + Nats-Msg-Id), as a client retrying after a 503 would.
    const after = Array.from({ length: 10 }, (_, i) => `after-${i}`);
    for (const id of after) {
      await waitUntil(() => b.enqueue(queue, element(id)).catch(() => undefined), { timeoutMs: 20_000 });
    }
    // Right after the kill a pull may find nothing while the consumer's leader moves: lease until every
    // element came back (a lost one never does, and the wait times out).
    const leasedIds = new Set<string>();
    await waitUntil(
      async () => {
        const leased = await a
          .lease(queue, { max: 50, owner: 'a', leaseMs: 60_000, nowMs: 1 })
          .catch(() => undefined);
        for (const e of leased?.elements ?? []) leasedIds.add(e.id);
        return leasedIds.size >= before.length + after.length;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    ).catch(() => undefined);
    expect([...leasedIds].sort()).toEqual([...before, ...after].sort());
    await waitUntil(oneLeader, { timeoutMs: 15_000 });
  }, 90_000);
});
