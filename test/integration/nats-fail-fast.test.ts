import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QueueElement } from '../../src/core/state-store.js';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait-until.js';

// A long operation timeout: an operation that waited for it would fail with "no answer from NATS within …",
// so the "reconnecting" reason proves the store refused it from the connection status instead.
const TIMEOUT_MS = 8_000;
const T0 = Date.UTC(2026, 0, 1);
const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [2], httpStatusRetries: [500] };
const element = (id: string): QueueElement => ({
  id,
  payload: new TextEncoder().encode(id),
  enqueuedAtMs: T0,
  policy: POLICY,
});

/** The error an operation rejects with, or undefined when it succeeds. */
async function failure(operation: () => Promise<unknown>): Promise<Error | undefined> {
  try {
    await operation();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('NatsStateStore while its connection is down', { timeout: 90_000 }, () => {
  let storeDir: string;
  let server: NatsServer;
  let store: NatsStateStore | undefined;

  beforeEach(async () => {
    storeDir = mkdtempSync(join(tmpdir(), 'slimfaas-nats-fail-fast-'));
    server = await startNatsServer({ storeDir });
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await server.stop();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('refuses operations at once with the reason, and accepts again once reconnected', async () => {
    store = await NatsStateStore.open({ servers: server.url, timeoutMs: TIMEOUT_MS });
    const s = store;
    expect(await s.enqueue('fn', element('a'))).toBe('enqueued');
    await server.stop();

    // The disconnect event may trail the server's exit by a moment: wait until the store has seen it.
    await waitUntil(
      async () => (await failure(() => s.counts('fn')))?.message.includes('reconnecting') === true,
      { timeoutMs: 3 * TIMEOUT_MS, message: 'the store sees the connection down' },
    );
    for (const operation of [
      () => s.enqueue('fn', element('b')),
      () => s.lease('fn', { max: 1, owner: 'o', leaseMs: 1_000, nowMs: T0 }),
      () => s.getValue('k', T0),
      () => s.recordActivity('fn', T0),
    ]) {
      const error = await failure(operation);
      expect(error).toMatchObject({ code: 'store_unavailable' });
      expect(error?.message).toMatch(/connection to NATS .* lost, reconnecting/);
    }

    server = await startNatsServer({ storeDir, port: server.port });
    await waitUntil(async () => (await failure(() => s.counts('fn'))) === undefined, {
      timeoutMs: 30_000,
      message: 'reconnected',
    });
    expect(await s.enqueue('fn', element('b'))).toBe('enqueued');
    expect(await s.counts('fn')).toMatchObject({ ready: 2 });
  });

  it('says the store is closed once it is', async () => {
    store = await NatsStateStore.open({ servers: server.url, timeoutMs: TIMEOUT_MS });
    const s = store;
    await s.close();
    await expect(s.counts('fn')).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});
