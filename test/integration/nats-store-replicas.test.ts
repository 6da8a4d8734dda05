import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeasedElement } from '../../src/core/state-store.js';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait-until.js';

const T0 = Date.UTC(2026, 0, 1);
const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [1], httpStatusRetries: [500] };

describe('NatsStateStore shared by several replicas', () => {
  let server: NatsServer;
  let replicas: NatsStateStore[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    replicas = await Promise.all([1, 2, 3].map(() => NatsStateStore.open({ servers: server.url })));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((store) => store.close()));
    await server?.stop();
  });

  it('hands each element to exactly one replica when they lease and complete concurrently', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `e${String(i).padStart(2, '0')}`);
    for (const [i, id] of ids.entries()) {
      const store = replicas[i % replicas.length]!;
      await store.enqueue('shared', { id, payload: new Uint8Array([i]), enqueuedAtMs: T0, policy: POLICY });
    }
    const leased: string[] = [];
    await Promise.all(
      replicas.map(async (store, r) => {
        for (;;) {
          const { elements } = await store.lease('shared', {
            max: 3,
            owner: `r${r}`,
            leaseMs: 60_000,
            nowMs: T0,
          });
          if (elements.length === 0) return;
          leased.push(...elements.map((e: LeasedElement) => e.id));
          for (const e of elements)
            expect(await store.complete('shared', e.id, e.leaseToken)).toEqual({ kind: 'ok' });
        }
      }),
    );
    expect([...leased].sort()).toEqual(ids);
    expect(await replicas[0]!.counts('shared')).toEqual({ ready: 0, inFlight: 0, retryPending: 0, dead: 0 });
  });

  it('lets exactly one of two replicas reclaim an expired lease', async () => {
    const [a, b] = replicas;
    await a!.enqueue('reclaim', { id: 'x', payload: new Uint8Array(), enqueuedAtMs: T0, policy: POLICY });
    await a!.lease('reclaim', { max: 1, owner: 'a', leaseMs: 1_000, nowMs: T0 });
    const options = { max: 1, leaseMs: 1_000, nowMs: T0 + 1_000 };
    const results = await Promise.all([
      a!.lease('reclaim', { ...options, owner: 'a' }),
      b!.lease('reclaim', { ...options, owner: 'b' }),
    ]);
    const winners = results.flatMap((result) => result.elements);
    expect(winners.map((e) => [e.id, e.attempt])).toEqual([['x', 2]]);
  });

  it('tells the other replicas about an enqueue', async () => {
    const seen: string[] = [];
    const unsubscribe = replicas[1]!.onEnqueued((queue) => seen.push(queue));
    await replicas[0]!.enqueue('notified', {
      id: 'n',
      payload: new Uint8Array(),
      enqueuedAtMs: T0,
      policy: POLICY,
    });
    await waitUntil(() => seen.includes('notified'), { timeoutMs: 5_000, message: 'remote notification' });
    unsubscribe();
  });

  it('merges concurrent activity from every replica by maximum', async () => {
    await Promise.all(
      replicas.flatMap((store, r) => [1, 2, 3].map((i) => store.recordActivity('busy-fn', T0 + r * 10 + i))),
    );
    expect((await replicas[2]!.activity()).get('busy-fn')).toBe(T0 + 23);
  });
});
