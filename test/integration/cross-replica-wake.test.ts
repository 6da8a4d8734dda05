import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { composeCore, type Core } from '../../src/compose-core.js';
import { readConfig, type ServerConfig } from '../../src/config/read-config.js';
import { systemClock } from '../../src/core/clock.js';
import type { Orchestrator } from '../../src/core/ports.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { MemoryOrchestrator, type ScaleCall } from '../../src/orchestrators/memory/memory-orchestrator.js';
import type { NatsLeadership } from '../../src/stores/nats/nats-leadership.js';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';
import { Replicas } from '../helpers/app-stack.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { testFunctionSpec } from '../helpers/test-function-spec.js';
import { waitUntil } from '../helpers/wait-until.js';

const LEASE_MS = 900;

/** One SlimFaas node's view of the shared cluster: the same functions, its own record of scale requests. */
function nodeView(shared: MemoryOrchestrator, calls: ScaleCall[]): Orchestrator {
  return {
    start: () => Promise.resolve(),
    close: () => Promise.resolve(),
    functions: () => shared.functions(),
    setReplicas: (name, replicas) => {
      calls.push({ name, replicas });
      return shared.setReplicas(name, replicas);
    },
    subscribe: (listener) => shared.subscribe(listener),
  };
}

interface SlimFaasNode {
  readonly core: Core;
  readonly store: NatsStateStore;
  readonly leadership: NatsLeadership;
  readonly server: RunningServer;
  readonly scaleCalls: ScaleCall[];
  close(): Promise<void>;
}

describe('several SlimFaas nodes on one NATS store: one leader scales for all', () => {
  let nats: NatsServer;
  let config: ServerConfig;
  let cluster: MemoryOrchestrator;
  let replicas: Replicas;
  let nodes: SlimFaasNode[] = [];
  const names = ['wake-me', 'after-failover', 'async-fn'];

  beforeAll(async () => {
    nats = await startNatsServer();
    // A scale loop too slow to matter: a function woken here was woken by an event, not by the timer.
    const read = readConfig({
      SLIMFAAS_LEADER_LEASE_MS: String(LEASE_MS),
      SLIMFAAS_SCALE_INTERVAL_MS: '60000',
    });
    if (!read.ok) throw new Error(read.errors.join('\n'));
    config = read.config;
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.close();
    await cluster.close();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  async function startNode(key: string): Promise<SlimFaasNode> {
    const store = await NatsStateStore.open({ servers: nats.url });
    const leadership = store.leadership({ nodeId: `node-${nodes.length}`, leaseMs: LEASE_MS, key });
    const scaleCalls: ScaleCall[] = [];
    const core = composeCore({
      orchestrator: nodeView(cluster, scaleCalls),
      store,
      leadership,
      config,
      logger: recordingLogger(),
      clock: systemClock,
      isReady: () => true,
    });
    await core.activitySync.start();
    leadership.start();
    core.scaler.start();
    core.dispatcher.start();
    const server = await startServer(core.app.handle, { host: '127.0.0.1', port: 0 });
    const node: SlimFaasNode = {
      core,
      store,
      leadership,
      server,
      scaleCalls,
      async close() {
        await server.close(0);
        await core.dispatcher.close();
        core.scaler.close();
        await leadership.close();
        await core.activitySync.close();
        await core.app.close();
        await store.close();
      },
    };
    nodes.push(node);
    return node;
  }

  async function startCluster(): Promise<[SlimFaasNode, SlimFaasNode]> {
    replicas = new Replicas();
    cluster = new MemoryOrchestrator({
      functions: names.map((name) => ({ spec: testFunctionSpec(name) })),
      startReplica: replicas.start,
    });
    await cluster.start();
    const key = `k${randomUUID().slice(0, 8)}`;
    const first = await startNode(key);
    await waitUntil(() => first.leadership.isLeader());
    const second = await startNode(key);
    await waitUntil(() => second.leadership.leaderId() === first.leadership.nodeId);
    return [first, second];
  }

  it('a sync call on a follower wakes a function at zero through the leader; only the leader scales', async () => {
    const [leader, follower] = await startCluster();
    expect(cluster.functions().get('wake-me')?.requested).toBe(0);

    const response = await fetch(`${follower.server.url}/function/wake-me/hello`, {
      signal: AbortSignal.timeout(15_000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-slimfaas-cold-start')).toBe('true');
    expect(await response.json()).toEqual({ replica: 'wake-me-0' });
    expect(leader.scaleCalls).toContainEqual({ name: 'wake-me', replicas: 1 });
    expect(follower.scaleCalls).toEqual([]);

    // Later calls on the follower (throttled writes) keep the function active in the leader's tracker.
    const calledAtMs = Date.now();
    expect((await fetch(`${follower.server.url}/function/wake-me`)).status).toBe(200);
    await waitUntil(() => leader.core.activity.get('wake-me').lastActivityMs >= calledAtMs, {
      timeoutMs: 5_000,
    });
    expect(follower.scaleCalls).toEqual([]);
  });

  it('when the leader leaves, the other node leads and wakes functions itself', async () => {
    const [leader, follower] = await startCluster();
    await leader.close();
    nodes = nodes.filter((n) => n !== leader);
    await waitUntil(() => follower.leadership.isLeader(), { timeoutMs: 10_000 });

    const response = await fetch(`${follower.server.url}/function/after-failover`, {
      signal: AbortSignal.timeout(15_000),
    });
    expect(response.status).toBe(200);
    expect(follower.scaleCalls).toContainEqual({ name: 'after-failover', replicas: 1 });
  });

  it('an async request accepted by a follower is delivered by the leader', async () => {
    const [leader, follower] = await startCluster();
    const response = await fetch(`${follower.server.url}/async-function/async-fn/job`, {
      method: 'POST',
      body: 'payload',
      signal: AbortSignal.timeout(15_000),
    });
    expect(response.status).toBe(202);
    const received = await waitUntil(() => replicas.received.find((r) => r.url === '/job'), {
      timeoutMs: 15_000,
    });
    expect(received.body).toBe('payload');
    expect(leader.scaleCalls).toContainEqual({ name: 'async-fn', replicas: 1 });
    expect(follower.scaleCalls).toEqual([]);
  });
});
