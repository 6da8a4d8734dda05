import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../src/core/clock.js';
import type { ActivityEvent } from '../../src/core/state-store.js';
import type { NatsLeadership } from '../../src/stores/nats/nats-leadership.js';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitUntil } from '../helpers/wait-until.js';

const LEASE_MS = 900;
const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [], httpStatusRetries: [] };

interface Node {
  readonly store: NatsStateStore;
  readonly leadership: NatsLeadership;
}

/**
 * Samples every node's `isLeader()` at a few-millisecond period, in this one process: a sample is one instant,
 * so two leaders in one sample would be two leaders at once.
 */
function monitor(nodes: readonly Node[]) {
  const samples: { atMs: number; leaders: boolean[] }[] = [];
  const timer = setInterval(() => {
    samples.push({ atMs: Date.now(), leaders: nodes.map((n) => n.leadership.isLeader()) });
  }, 3);
  return {
    stop: () => clearInterval(timer),
    maxLeaders: () => Math.max(0, ...samples.map((s) => s.leaders.filter(Boolean).length)),
    /** First sample at or after `fromMs` where node `i` has `isLeader() === leader`. */
    firstSample: (i: number, leader: boolean, fromMs = 0) =>
      samples.find((s) => s.atMs >= fromMs && s.leaders[i] === leader),
  };
}

/** Lets time pass to observe that nothing changes (not a wait for a timeout: there is none to wait for). */
const observe = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('NatsLeadership: several SlimFaas nodes sharing one nats-server', () => {
  let server: NatsServer;
  const opened: Node[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterEach(async () => {
    for (const node of opened.splice(0)) {
      await node.leadership.close();
      await node.store.close();
    }
    for (const proxy of proxies.splice(0)) await proxy.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function openNode(options: { key: string; url?: string; clock?: Clock; timeoutMs?: number }) {
    const store = await NatsStateStore.open({
      servers: options.url ?? server.url,
      timeoutMs: options.timeoutMs ?? 5_000,
    });
    const leadership = store.leadership({
      nodeId: `node-${opened.length}-${randomUUID().slice(0, 4)}`,
      leaseMs: LEASE_MS,
      key: options.key,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    const node = { store, leadership };
    opened.push(node);
    return node;
  }

  const leaders = (nodes: readonly Node[]) => nodes.filter((n) => n.leadership.isLeader());

  it('three nodes elect exactly one leader, keep it, and all name it', async () => {
    const key = `k${randomUUID().slice(0, 8)}`;
    const nodes = await Promise.all([0, 1, 2].map(() => openNode({ key })));
    const watch = monitor(nodes);
    for (const node of nodes) node.leadership.start();
    const [leader] = await waitUntil(() => (leaders(nodes).length === 1 ? leaders(nodes) : undefined));
    await waitUntil(() => nodes.every((n) => n.leadership.leaderId() === leader!.leadership.nodeId));
    await observe(4 * LEASE_MS);
    watch.stop();
    expect(watch.maxLeaders()).toBe(1);
    expect(leaders(nodes)).toEqual([leader]);
    expect(nodes.map((n) => n.leadership.leaderId())).toEqual(nodes.map(() => leader!.leadership.nodeId));
  });

  it('close() releases the lease: a follower takes over without waiting for it to expire', async () => {
    // Frozen clocks: no lease can ever look expired, so only the release lets the follower in.
    const clock = new ManualClock();
    const key = `k${randomUUID().slice(0, 8)}`;
    const first = await openNode({ key, clock });
    first.leadership.start();
    await waitUntil(() => first.leadership.isLeader());
    const second = await openNode({ key, clock });
    const changes: boolean[] = [];
    second.leadership.subscribe((leader) => changes.push(leader));
    second.leadership.start();
    await waitUntil(() => second.leadership.leaderId() === first.leadership.nodeId);
    expect(second.leadership.isLeader()).toBe(false);

    await first.leadership.close();
    expect(first.leadership.isLeader()).toBe(false);
    await waitUntil(() => second.leadership.isLeader(), { timeoutMs: 10_000 });
    expect(changes).toEqual([true]);
  });

  it('a leader steps down by its own clock as soon as a lease passes without a confirmed renewal', async () => {
    const clock = new ManualClock();
    const node = await openNode({ key: `k${randomUUID().slice(0, 8)}`, clock });
    node.leadership.start();
    await waitUntil(() => node.leadership.isLeader());
    // No I/O and no timer needed: the renewal sent at the frozen instant covers lease − margin, not more.
    clock.advance(LEASE_MS);
    expect(node.leadership.isLeader()).toBe(false);
  });

  it('a leader cut off from NATS steps down before another node takes over, refuses enqueues, then follows', async () => {
    const key = `k${randomUUID().slice(0, 8)}`;
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const cutOff = await openNode({ key, url: `nats://127.0.0.1:${proxy.port}`, timeoutMs: 1_000 });
    cutOff.leadership.start();
    await waitUntil(() => cutOff.leadership.isLeader());
    const other = await openNode({ key });
    other.leadership.start();
    await waitUntil(() => other.leadership.leaderId() === cutOff.leadership.nodeId);

    const watch = monitor([cutOff, other]);
    const cutAtMs = Date.now();
    await proxy.cut();
    const tookOver = await waitUntil(() => watch.firstSample(1, true, cutAtMs), { timeoutMs: 15_000 });
    watch.stop();
    const steppedDown = watch.firstSample(0, false, cutAtMs);
    expect(watch.maxLeaders()).toBe(1);
    expect(steppedDown!.atMs).toBeLessThan(tookOver.atMs);
    console.log(
      `partition: cut → old leader stepped down ${steppedDown!.atMs - cutAtMs} ms, new leader ${tookOver.atMs - cutAtMs} ms (lease ${LEASE_MS} ms)`,
    );

    const element = { id: 'a', payload: new Uint8Array([1]), enqueuedAtMs: 0, policy: POLICY };
    await expect(cutOff.store.enqueue('cut', element)).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(cutOff.leadership.leaderId()).toBeUndefined();

    await proxy.heal();
    await waitUntil(() => cutOff.leadership.leaderId() === other.leadership.nodeId, { timeoutMs: 15_000 });
    expect(cutOff.leadership.isLeader()).toBe(false);
    expect(other.leadership.isLeader()).toBe(true);
    expect(await cutOff.store.enqueue('cut', element)).toBe('enqueued');
  });

  it('reports activity recorded on one node to the others as peer activity, not back to itself', async () => {
    const key = `k${randomUUID().slice(0, 8)}`;
    const [a, b] = await Promise.all([openNode({ key }), openNode({ key })]);
    const name = `fn-${randomUUID().slice(0, 8)}`;
    const seenByA: ActivityEvent[] = [];
    const seenByB: ActivityEvent[] = [];
    a.store.onActivity((event) => event.name === name && seenByA.push(event));
    b.store.onActivity((event) => event.name === name && seenByB.push(event));

    await a.store.recordActivity(name, 1_000);
    await waitUntil(() => seenByB.length === 1);
    expect(seenByB).toEqual([{ name, atMs: 1_000, origin: 'peer' }]);
    // b's write of an older time still reaches a (with the stored, newer time): wakes get through.
    await b.store.recordActivity(name, 500);
    await waitUntil(() => seenByA.length === 2);
    expect(seenByA).toEqual([
      { name, atMs: 1_000, origin: 'local' },
      { name, atMs: 1_000, origin: 'peer' },
    ]);
    expect(seenByB).toEqual([
      { name, atMs: 1_000, origin: 'peer' },
      { name, atMs: 1_000, origin: 'local' },
    ]);
  });
});
