import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../src/core/function-spec.js';
import {
  LEASE_EXPIRED,
  type ActivityEvent,
  type LeaseOptions,
  type LeasedElement,
  type QueueElement,
  type StateStore,
} from '../../src/core/state-store.js';

/** Durable state an implementation runs on (a SQLite file, a NATS stream); `open` again = a restart. */
export interface StateStoreTarget {
  open(): Promise<StateStore>;
  destroy(): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);
const POLICY: RetryPolicy = {
  httpTimeoutSeconds: 30,
  timeoutRetriesSeconds: [2, 4],
  httpStatusRetries: [500],
};
const NO_RETRY: RetryPolicy = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [], httpStatusRetries: [] };

const element = (id: string, policy: RetryPolicy = POLICY): QueueElement => ({
  id,
  payload: new TextEncoder().encode(`request ${id}`),
  enqueuedAtMs: T0,
  policy,
});
const leaseAt = (nowMs: number, max = 10, leaseMs = 1_000): LeaseOptions => ({
  max,
  owner: 'dispatcher-a',
  leaseMs,
  nowMs,
});
const ids = (elements: readonly LeasedElement[]) => elements.map((e) => e.id);

/** The behaviour every `StateStore` must have. Time only moves through `nowMs`: nothing here sleeps. */
export function describeStateStoreContract(label: string, makeTarget: () => Promise<StateStoreTarget>): void {
  describe(`StateStore contract: ${label}`, () => {
    let target: StateStoreTarget;
    let store: StateStore;
    let q: string;

    beforeEach(async () => {
      target = await makeTarget();
      store = await target.open();
      q = `fn-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await store.close();
      await target.destroy();
    });

    async function enqueueAll(queue: string, names: readonly string[], policy?: RetryPolicy) {
      for (const name of names) expect(await store.enqueue(queue, element(name, policy))).toBe('enqueued');
    }

    it('hands out elements in FIFO order per queue, at most `max` at a time', async () => {
      const other = `${q}-other`;
      await enqueueAll(q, ['a', 'b']);
      await Promise.all(['c', 'd', 'e'].map((id) => store.enqueue(q, element(id))));
      await enqueueAll(other, ['z']);
      expect(ids((await store.lease(q, leaseAt(T0, 2))).elements)).toEqual(['a', 'b']);
      expect(ids((await store.lease(q, leaseAt(T0, 10))).elements)).toEqual(['c', 'd', 'e']);
      expect((await store.lease(q, leaseAt(T0, 10))).elements).toEqual([]);
      expect(ids((await store.lease(other, leaseAt(T0))).elements)).toEqual(['z']);
    });

    it('returns the element as enqueued, with attempt 1 and the lease', async () => {
      const payload = new Uint8Array([0, 255, 1, 0, 128]);
      await store.enqueue(q, { id: 'bin', payload, enqueuedAtMs: T0 + 5, policy: POLICY });
      const [leased] = (await store.lease(q, leaseAt(T0 + 10, 1, 500))).elements;
      expect(leased).toMatchObject({ id: 'bin', enqueuedAtMs: T0 + 5, policy: POLICY, attempt: 1 });
      expect(leased?.lastAttempt).toBe(false);
      expect(leased?.leaseExpiresAtMs).toBe(T0 + 510);
      expect(Array.from(leased?.payload ?? [])).toEqual([0, 255, 1, 0, 128]);
      expect(typeof leased?.leaseToken).toBe('string');
    });

    it('marks the only attempt of a policy without retries as the last one', async () => {
      await enqueueAll(q, ['once'], NO_RETRY);
      const [leased] = (await store.lease(q, leaseAt(T0))).elements;
      expect(leased).toMatchObject({ attempt: 1, lastAttempt: true });
    });

    it('removes a completed element for good', async () => {
      await enqueueAll(q, ['a']);
      const [a] = (await store.lease(q, leaseAt(T0))).elements;
      expect(await store.complete(q, 'a', a!.leaseToken)).toEqual({ kind: 'ok' });
      expect(await store.counts(q)).toEqual({ ready: 0, inFlight: 0, retryPending: 0, dead: 0 });
      expect((await store.lease(q, leaseAt(T0 + 60_000))).elements).toEqual([]);
      expect(await store.complete(q, 'a', a!.leaseToken)).toEqual({ kind: 'not-found' });
    });

    it('keeps a retried element at its FIFO position and holds it until notBeforeMs', async () => {
      await enqueueAll(q, ['a', 'b', 'c']);
      const [a] = (await store.lease(q, leaseAt(T0, 1))).elements;
      const retried = await store.retryLater(q, 'a', a!.leaseToken, {
        notBeforeMs: T0 + 2_000,
        endedAtMs: T0 + 100,
        lastStatus: 500,
      });
      expect(retried).toEqual({ kind: 'ok' });
      expect(await store.counts(q)).toEqual({ ready: 2, inFlight: 0, retryPending: 1, dead: 0 });
      const early = await store.lease(q, leaseAt(T0 + 1_999, 1));
      expect(ids(early.elements)).toEqual(['b']);
      expect(early.nextAvailableAtMs).toBe(T0 + 2_000);
      const due = await store.lease(q, leaseAt(T0 + 2_000, 10));
      expect(due.elements.map((e) => [e.id, e.attempt])).toEqual([
        ['a', 2],
        ['c', 1],
      ]);
    });

    it('flags the last attempt and counts every dispatch', async () => {
      await enqueueAll(q, ['a']);
      const seen: [number, boolean][] = [];
      for (let i = 0; i < 3; i++) {
        const now = T0 + i * 10_000;
        const [a] = (await store.lease(q, leaseAt(now))).elements;
        seen.push([a!.attempt, a!.lastAttempt]);
        await store.retryLater(q, 'a', a!.leaseToken, {
          notBeforeMs: now,
          endedAtMs: now,
          lastError: 'reset',
        });
      }
      expect(seen).toEqual([
        [1, false],
        [2, false],
        [3, true],
      ]);
    });

    it('lists dead letters with their attempts, then requeues or deletes them', async () => {
      await enqueueAll(q, ['a', 'b', 'c']);
      const [a, b] = (await store.lease(q, leaseAt(T0, 2))).elements;
      await store.retryLater(q, 'a', a!.leaseToken, { notBeforeMs: T0, endedAtMs: T0 + 5, lastStatus: 503 });
      const [a2] = (await store.lease(q, leaseAt(T0 + 10, 1))).elements;
      expect(await store.deadLetter(q, 'a', a2!.leaseToken, { endedAtMs: T0 + 20, lastStatus: 500 })).toEqual(
        {
          kind: 'ok',
        },
      );
      await store.deadLetter(q, 'b', b!.leaseToken, { endedAtMs: T0 + 30, lastError: 'ECONNRESET' });
      expect(await store.counts(q)).toMatchObject({ dead: 2, ready: 1 });
      const dead = await store.deadLetters(q);
      expect(dead.map((d) => [d.id, d.lastStatus, d.lastError])).toEqual([
        ['a', 500, undefined],
        ['b', undefined, 'ECONNRESET'],
      ]);
      expect(dead[0]).toMatchObject({ enqueuedAtMs: T0, deadAtMs: T0 + 20, payloadBytes: 9 });
      expect(dead[0]?.attempts).toEqual([
        { startedAtMs: T0, endedAtMs: T0 + 5, status: 503 },
        { startedAtMs: T0 + 10, endedAtMs: T0 + 20, status: 500 },
      ]);
      const [c] = (await store.lease(q, leaseAt(T0 + 60_000))).elements;
      expect(c?.id).toBe('c');
      await store.complete(q, 'c', c!.leaseToken);

      expect(await store.requeueDeadLetter(q, 'a')).toEqual({ kind: 'requeued' });
      expect(await store.deleteDeadLetter(q, 'b')).toEqual({ kind: 'deleted' });
      expect(await store.deleteDeadLetter(q, 'b')).toEqual({ kind: 'not-found' });
      expect(await store.requeueDeadLetter(q, 'c')).toEqual({ kind: 'not-found' });
      expect(await store.deadLetters(q)).toEqual([]);
      const [again] = (await store.lease(q, leaseAt(T0 + 70_000))).elements;
      expect(again).toMatchObject({ id: 'a', attempt: 1, lastAttempt: false });
    });

    it('redelivers an element whose lease expired as the next attempt, and refuses the stale token', async () => {
      await enqueueAll(q, ['a']);
      const [first] = (await store.lease(q, leaseAt(T0, 1, 1_000))).elements;
      const held = await store.lease(q, leaseAt(T0 + 999));
      expect(held.elements).toEqual([]);
      expect(held.nextAvailableAtMs).toBe(T0 + 1_000);
      expect(await store.counts(q)).toMatchObject({ inFlight: 1, ready: 0 });
      const [second] = (await store.lease(q, { ...leaseAt(T0 + 1_000), owner: 'dispatcher-b' })).elements;
      expect(second).toMatchObject({ id: 'a', attempt: 2 });
      expect(second?.leaseToken).not.toBe(first?.leaseToken);
      expect(await store.complete(q, 'a', first!.leaseToken)).toEqual({ kind: 'lease-lost' });
      expect(
        await store.retryLater(q, 'a', first!.leaseToken, { notBeforeMs: 0, endedAtMs: 0, lastStatus: 1 }),
      ).toEqual({ kind: 'lease-lost' });
      expect(await store.complete(q, 'a', second!.leaseToken)).toEqual({ kind: 'ok' });
    });

    it('turns an expired last attempt into a dead letter instead of redelivering it', async () => {
      await enqueueAll(q, ['a'], NO_RETRY);
      await store.lease(q, leaseAt(T0, 1, 1_000));
      expect((await store.lease(q, leaseAt(T0 + 5_000))).elements).toEqual([]);
      const [dead] = await store.deadLetters(q);
      expect(dead).toMatchObject({ id: 'a', lastError: LEASE_EXPIRED, deadAtMs: T0 + 1_000 });
      expect(dead?.attempts).toEqual([{ startedAtMs: T0, endedAtMs: T0 + 1_000, error: LEASE_EXPIRED }]);
    });

    it('keeps an extended lease (callback mode) past its first expiry', async () => {
      await enqueueAll(q, ['a']);
      const [a] = (await store.lease(q, leaseAt(T0, 1, 1_000))).elements;
      const extend = { leaseMs: 30_000, nowMs: T0 + 500 };
      expect(await store.extendLease(q, 'a', a!.leaseToken, extend)).toEqual({ kind: 'ok' });
      expect(await store.extendLease(q, 'a', 'not-the-token', extend)).toEqual({ kind: 'lease-lost' });
      expect(await store.extendLease(q, 'nope', a!.leaseToken, extend)).toEqual({ kind: 'not-found' });
      expect((await store.lease(q, leaseAt(T0 + 30_499))).elements).toEqual([]);
      expect(ids((await store.lease(q, leaseAt(T0 + 30_500))).elements)).toEqual(['a']);
    });

    it('treats an enqueue with a known id as a duplicate while the element is in the queue', async () => {
      expect(await store.enqueue(q, element('a'))).toBe('enqueued');
      expect(await store.enqueue(q, { ...element('a'), payload: new Uint8Array([9]) })).toBe('duplicate');
      const [a] = (await store.lease(q, leaseAt(T0))).elements;
      expect(new TextDecoder().decode(a?.payload)).toBe('request a');
      expect(await store.enqueue(q, element('a'))).toBe('duplicate');
      await store.deadLetter(q, 'a', a!.leaseToken, { endedAtMs: T0, lastStatus: 500 });
      expect(await store.enqueue(q, element('a'))).toBe('duplicate');
      expect(await store.enqueue(`${q}-other`, element('a'))).toBe('enqueued');
      expect(await store.counts(q)).toEqual({ ready: 0, inFlight: 0, retryPending: 0, dead: 1 });
    });

    it('counts elements per state; an unknown queue has zero everywhere', async () => {
      await enqueueAll(q, ['a', 'b', 'c', 'd']);
      const [a, b] = (await store.lease(q, leaseAt(T0, 2))).elements;
      await store.retryLater(q, 'a', a!.leaseToken, { notBeforeMs: T0 + 1, endedAtMs: T0, lastStatus: 502 });
      await store.deadLetter(q, 'b', b!.leaseToken, { endedAtMs: T0, lastStatus: 400 });
      await store.lease(q, leaseAt(T0, 1));
      expect(await store.counts(q)).toEqual({ ready: 1, inFlight: 1, retryPending: 1, dead: 1 });
      expect(await store.counts(`${q}-unknown`)).toEqual({ ready: 0, inFlight: 0, retryPending: 0, dead: 0 });
    });

    it('lists the queues that hold work, not those with only dead letters', async () => {
      const idle = `${q}-dead-only`;
      await enqueueAll(q, ['a']);
      await enqueueAll(idle, ['x'], NO_RETRY);
      const [x] = (await store.lease(idle, leaseAt(T0))).elements;
      await store.deadLetter(idle, 'x', x!.leaseToken, { endedAtMs: T0, lastStatus: 500 });
      const names = await store.queues();
      expect(names).toContain(q);
      expect(names).not.toContain(idle);
    });

    it('notifies local listeners after an enqueue or a requeue commits, not for a duplicate', async () => {
      const seen: string[] = [];
      const unsubscribe = store.onEnqueued((queue) => seen.push(queue));
      await store.enqueue(q, element('a', NO_RETRY));
      expect(seen).toEqual([q]);
      await store.enqueue(q, element('a', NO_RETRY));
      const [a] = (await store.lease(q, leaseAt(T0))).elements;
      await store.deadLetter(q, 'a', a!.leaseToken, { endedAtMs: T0, lastStatus: 500 });
      await store.requeueDeadLetter(q, 'a');
      expect(seen).toEqual([q, q]);
      unsubscribe();
      await store.enqueue(q, element('b'));
      expect(seen).toEqual([q, q]);
    });

    it('merges activity timestamps by maximum', async () => {
      const fn = `${q}-activity`;
      await store.recordActivity(fn, T0 + 100);
      await Promise.all([store.recordActivity(fn, T0 + 50), store.recordActivity(`${fn}-2`, T0)]);
      const activity = await store.activity();
      expect(activity.get(fn)).toBe(T0 + 100);
      expect(activity.get(`${fn}-2`)).toBe(T0);
      await store.recordActivity(fn, T0 + 200);
      expect((await store.activity()).get(fn)).toBe(T0 + 200);
    });

    it('announces each recorded activity to onActivity listeners after commit, until unsubscribed', async () => {
      const fn = `${q}-activity`;
      const seen: ActivityEvent[] = [];
      const unsubscribe = store.onActivity((event) => {
        if (event.name.startsWith(fn)) seen.push(event);
      });
      await store.recordActivity(fn, T0 + 100);
      expect(seen).toEqual([{ name: fn, atMs: T0 + 100, origin: 'local' }]);
      // Announced even when the stored time is newer: a follower's wake must reach the leader.
      await store.recordActivity(fn, T0 + 50);
      expect(seen).toHaveLength(2);
      expect(seen[1]).toMatchObject({ name: fn, origin: 'local' });
      expect(seen[1]?.atMs).toBeGreaterThanOrEqual(T0 + 50);
      expect((await store.activity()).get(fn)).toBe(T0 + 100);
      unsubscribe();
      await store.recordActivity(fn, T0 + 200);
      expect(seen).toHaveLength(2);
    });

    it('stores key/values, with an optional expiry', async () => {
      const key = `${q}:key`;
      expect(await store.getValue(key, T0)).toBeUndefined();
      await store.setValue(key, new Uint8Array([1, 2]));
      await store.setValue(key, new Uint8Array([3]));
      expect(Array.from((await store.getValue(key, T0 + 1e9)) ?? [])).toEqual([3]);
      await store.deleteValue(key);
      await store.deleteValue(key);
      expect(await store.getValue(key, T0)).toBeUndefined();

      await store.setValue(`${key}:ttl`, new Uint8Array([4]), { expiresAtMs: T0 + 1_000 });
      expect(await store.getValue(`${key}:ttl`, T0 + 999)).toBeDefined();
      expect(await store.getValue(`${key}:ttl`, T0 + 1_000)).toBeUndefined();
      expect(await store.deleteExpiredValues(T0 + 1_000)).toBeGreaterThanOrEqual(1);
      expect(await store.getValue(`${key}:ttl`, T0)).toBeUndefined();
    });

    it('keeps every committed state across a restart; leases held by the dead process expire', async () => {
      await enqueueAll(q, ['a', 'b', 'c']);
      const [a] = (await store.lease(q, leaseAt(T0, 1, 1_000))).elements;
      await store.recordActivity(q, T0 + 7);
      await store.setValue(`${q}:k`, new Uint8Array([7]));
      await store.close();

      store = await target.open();
      expect(await store.counts(q)).toEqual({ ready: 2, inFlight: 1, retryPending: 0, dead: 0 });
      expect(ids((await store.lease(q, leaseAt(T0 + 10))).elements)).toEqual(['b', 'c']);
      const [redelivered] = (await store.lease(q, leaseAt(T0 + 1_000))).elements;
      expect(redelivered).toMatchObject({ id: 'a', attempt: 2 });
      expect(redelivered?.leaseToken).not.toBe(a?.leaseToken);
      expect((await store.activity()).get(q)).toBe(T0 + 7);
      expect(Array.from((await store.getValue(`${q}:k`, T0)) ?? [])).toEqual([7]);
    });

    it('rejects every operation with store_unavailable once closed; close is idempotent', async () => {
      await store.close();
      await store.close();
      await expect(store.enqueue(q, element('a'))).rejects.toMatchObject({ code: 'store_unavailable' });
      await expect(store.counts(q)).rejects.toMatchObject({ code: 'store_unavailable' });
      await expect(store.getValue('k', T0)).rejects.toMatchObject({ code: 'store_unavailable' });
    });
  });
}
