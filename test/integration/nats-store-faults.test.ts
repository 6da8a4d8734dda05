import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QueueElement } from '../../src/core/state-store.js';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait-until.js';

const TIMEOUT_MS = 1_000;
const T0 = Date.UTC(2026, 0, 1);
const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [2], httpStatusRetries: [500] };
const element = (id: string): QueueElement => ({
  id,
  payload: new TextEncoder().encode(id),
  enqueuedAtMs: T0,
  policy: POLICY,
});

describe('NatsStateStore when nats-server stops and restarts', () => {
  let storeDir: string;
  let server: NatsServer;
  let store: NatsStateStore | undefined;

  beforeEach(async () => {
    storeDir = mkdtempSync(join(tmpdir(), 'slimfaas-nats-faults-'));
    server = await startNatsServer({ storeDir });
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await server.stop();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('rejects with store_unavailable within its timeout while the server is down, never a silent success', async () => {
    store = await NatsStateStore.open({ servers: server.url, timeoutMs: TIMEOUT_MS });
    expect(await store.enqueue('fn', element('a'))).toBe('enqueued');
    await server.stop();

    for (const operation of [
      () => store!.enqueue('fn', element('b')),
      () => store!.lease('fn', { max: 1, owner: 'o', leaseMs: 1_000, nowMs: T0 }),
      () => store!.counts('fn'),
      () => store!.getValue('k', T0),
    ]) {
      const startedAt = Date.now();
      await expect(operation()).rejects.toMatchObject({ code: 'store_unavailable' });
      expect(Date.now() - startedAt).toBeLessThan(TIMEOUT_MS + 1_000);
    }
  });

  it('recovers after a restart on the same store directory with every acknowledged element', async () => {
    store = await NatsStateStore.open({ servers: server.url, timeoutMs: TIMEOUT_MS });
    for (const id of ['a', 'b', 'c']) expect(await store.enqueue('fn', element(id))).toBe('enqueued');
    const [a] = (await store.lease('fn', { max: 1, owner: 'o', leaseMs: 60_000, nowMs: T0 })).elements;
    await store.setValue('k', new Uint8Array([7]));
    await server.stop();
    await expect(store.enqueue('fn', element('d'))).rejects.toMatchObject({ code: 'store_unavailable' });

    server = await startNatsServer({ storeDir, port: server.port });
    const counts = await waitUntil(() => store!.counts('fn'), { timeoutMs: 10_000, message: 'reconnected' });
    expect(counts).toEqual({ ready: 2, inFlight: 1, retryPending: 0, dead: 0 });
    expect(await store.enqueue('fn', element('d'))).toBe('enqueued');
    const leased = await store.lease('fn', { max: 10, owner: 'o', leaseMs: 1_000, nowMs: T0 + 10 });
    expect(leased.elements.map((e) => e.id)).toEqual(['b', 'c', 'd']);
    expect(await store.complete('fn', 'a', a!.leaseToken)).toEqual({ kind: 'ok' });
    expect(Array.from((await store.getValue('k', T0)) ?? [])).toEqual([7]);
  });

  it('fails to open with store_unavailable when no server listens', async () => {
    await server.stop();
    const startedAt = Date.now();
    await expect(NatsStateStore.open({ servers: server.url, timeoutMs: TIMEOUT_MS })).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    expect(Date.now() - startedAt).toBeLessThan(TIMEOUT_MS + 1_000);
  });
});
