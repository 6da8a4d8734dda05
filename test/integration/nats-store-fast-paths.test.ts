import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueElement } from '../../src/core/state-store.js';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { QUEUE_BUCKET, claimKey } from '../../src/stores/nats/nats-resources.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait-until.js';

const T0 = Date.UTC(2026, 0, 1);
const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [], httpStatusRetries: [] };
const LEASE = { owner: 'test', leaseMs: 60_000, nowMs: T0 };

const element = (id: string, newId: boolean): QueueElement => ({
  id,
  payload: new TextEncoder().encode(id),
  enqueuedAtMs: T0,
  policy: POLICY,
  newId,
});

describe('NatsStateStore fast paths (real nats-server)', () => {
  let server: NatsServer;
  let a: NatsStateStore;
  let b: NatsStateStore;
  let nc: NatsConnection;

  const claimExists = async (queue: string, id: string) => {
    const kv = await new Kvm(jetstream(nc)).open(QUEUE_BUCKET);
    const got = await kv.get(claimKey(queue, id));
    return got !== null && got.operation === 'PUT';
  };

  beforeAll(async () => {
    server = await startNatsServer();
    a = await NatsStateStore.open({ servers: server.url });
    b = await NatsStateStore.open({ servers: server.url });
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), nc?.close()]);
    await server?.stop();
  });

  it('enqueues a caller-generated id without a claim and delivers, completes and dead-letters it like any other', async () => {
    expect(await a.enqueue('claimless', element('fresh', true))).toBe('enqueued');
    expect(await claimExists('claimless', 'fresh')).toBe(false);
    expect(await a.enqueue('claimless', element('claimed', false))).toBe('enqueued');
    expect(await claimExists('claimless', 'claimed')).toBe(true);

    const { elements } = await a.lease('claimless', { ...LEASE, max: 2 });
    expect(elements.map((e) => [e.id, new TextDecoder().decode(e.payload)])).toEqual([
      ['fresh', 'fresh'],
      ['claimed', 'claimed'],
    ]);
    const [fresh, claimed] = elements;
    expect(await a.complete('claimless', fresh!.id, fresh!.leaseToken)).toEqual({ kind: 'ok' });
    expect(await a.complete('claimless', fresh!.id, fresh!.leaseToken)).toEqual({ kind: 'not-found' });
    // A dead claimless element gets its claim at burial, so its dead letter can be requeued.
    const end = { endedAtMs: T0, lastStatus: 500 };
    expect(await a.deadLetter('claimless', claimed!.id, claimed!.leaseToken, end)).toEqual({ kind: 'ok' });
    expect(await a.enqueue('claimless', element('fresh-dead', true))).toBe('enqueued');
    const [dying] = (await a.lease('claimless', { ...LEASE, max: 1 })).elements;
    expect(dying?.id).toBe('fresh-dead');
    expect(await a.deadLetter('claimless', 'fresh-dead', dying!.leaseToken, end)).toEqual({ kind: 'ok' });
    expect(await a.requeueDeadLetter('claimless', 'fresh-dead')).toEqual({ kind: 'requeued' });
    const [again] = (await a.lease('claimless', { ...LEASE, max: 1 })).elements;
    expect(again?.id).toBe('fresh-dead');
    expect(await a.complete('claimless', 'fresh-dead', again!.leaseToken)).toEqual({ kind: 'ok' });
    expect(await claimExists('claimless', 'fresh-dead')).toBe(false);
    expect(await a.counts('claimless')).toEqual({ ready: 0, inFlight: 0, retryPending: 0, dead: 1 });
  });

  it('hands out elements pulled ahead in FIFO order, each once, with their payloads', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    for (const id of ids) await a.enqueue('prefetch', element(id, true));
    const seen: string[] = [];
    for (;;) {
      // Alternating stores: b has none of a's pulled-ahead payloads in memory and reads them from the stream.
      const store = seen.length % 2 === 0 ? a : b;
      const { elements } = await store.lease('prefetch', { ...LEASE, max: 3 });
      if (elements.length === 0) break;
      for (const e of elements) {
        expect(new TextDecoder().decode(e.payload)).toBe(e.id);
        seen.push(e.id);
        expect(await store.complete('prefetch', e.id, e.leaseToken)).toEqual({ kind: 'ok' });
      }
    }
    expect(seen).toEqual(ids);
    expect(await b.counts('prefetch')).toEqual({ ready: 0, inFlight: 0, retryPending: 0, dead: 0 });
  });

  it('announces a burst of enqueues to the other replicas after the last one was acknowledged', async () => {
    const heard: number[] = [];
    const unsubscribe = b.onEnqueued((queue) => {
      if (queue === 'announced') heard.push(performance.now());
    });
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => a.enqueue('announced', element(`n${i}`, true))));
      const lastAcknowledgedAt = performance.now();
      await waitUntil(() => heard.some((at) => at >= lastAcknowledgedAt), { timeoutMs: 5_000 });
    } finally {
      unsubscribe();
    }
  });
});
