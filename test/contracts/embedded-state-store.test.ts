import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATABASE_FILE_NAME, EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';
import { describeStateStoreContract, type StateStoreTarget } from './state-store-contract.js';

const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [2], httpStatusRetries: [500] };

function sqliteTarget(thread: 'adaptive' | 'worker' | 'main'): () => Promise<StateStoreTarget> {
  return () => {
    const directory = mkdtempSync(join(tmpdir(), 'slimfaas-contract-'));
    return Promise.resolve({
      open: () => EmbeddedStateStore.open({ directory, thread }),
      destroy: () => Promise.resolve(rmSync(directory, { recursive: true, force: true })),
    });
  };
}

describeStateStoreContract('EmbeddedStateStore (worker thread)', sqliteTarget('worker'));
describeStateStoreContract('EmbeddedStateStore (main thread)', sqliteTarget('main'));
describeStateStoreContract(
  'EmbeddedStateStore (adaptive: main thread, then worker)',
  sqliteTarget('adaptive'),
);

describe('EmbeddedStateStore', () => {
  it(`writes <directory>/${DATABASE_FILE_NAME}`, async () => {
    const directory = mkdtempSync(join(tmpdir(), 'slimfaas-embedded-'));
    const store = await EmbeddedStateStore.open({ directory });
    await store.close();
    expect(existsSync(join(directory, DATABASE_FILE_NAME))).toBe(true);
    rmSync(directory, { recursive: true, force: true });
  });

  it('accepts an id again once its element was completed', async () => {
    const store = await EmbeddedStateStore.open({ ephemeral: true, thread: 'main' });
    const element = { id: 'a', payload: new Uint8Array([1]), enqueuedAtMs: 0, policy: POLICY };
    await store.enqueue('fn', element);
    const [a] = (await store.lease('fn', { max: 1, owner: 'o', leaseMs: 10, nowMs: 0 })).elements;
    await store.complete('fn', 'a', a!.leaseToken);
    expect(await store.enqueue('fn', element)).toBe('enqueued');
    await store.close();
  });

  it('rejects invalid arguments with bad_request, without touching the database', async () => {
    const store = await EmbeddedStateStore.open({ ephemeral: true, thread: 'main' });
    await expect(store.lease('fn', { max: 0, owner: 'o', leaseMs: 10, nowMs: 0 })).rejects.toMatchObject({
      code: 'bad_request',
    });
    await expect(
      store.enqueue('', { id: 'a', payload: new Uint8Array(), enqueuedAtMs: 0, policy: POLICY }),
    ).rejects.toMatchObject({ code: 'bad_request' });
    await expect(store.getValue('k', Number.NaN)).rejects.toMatchObject({ code: 'bad_request' });
    await store.close();
  });

  it('commits a burst of concurrent enqueues together and resolves each one', async () => {
    const store = await EmbeddedStateStore.open({ ephemeral: true });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.enqueue('burst', {
          id: `e${i}`,
          payload: new Uint8Array(1024),
          enqueuedAtMs: i,
          policy: POLICY,
        }),
      ),
    );
    expect(results.every((r) => r === 'enqueued')).toBe(true);
    const leased = await store.lease('burst', { max: 500, owner: 'o', leaseMs: 10, nowMs: 0 });
    expect(leased.elements.map((e) => e.id)).toEqual(Array.from({ length: 200 }, (_, i) => `e${i}`));
    await store.close();
  });

  it('removes an ephemeral directory on close', async () => {
    const before = new Set(listTemp());
    const store = await EmbeddedStateStore.open({ ephemeral: true, thread: 'main' });
    const created = listTemp().filter((name) => !before.has(name));
    expect(created.length).toBeGreaterThanOrEqual(1);
    await store.close();
    expect(created.some((name) => existsSync(join(tmpdir(), name)))).toBe(false);
  });

  it('fails to open with store_unavailable when the directory cannot be created', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'slimfaas-embedded-'));
    writeFileSync(join(parent, 'a-file'), '');
    await expect(EmbeddedStateStore.open({ directory: join(parent, 'a-file', 'db') })).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    rmSync(parent, { recursive: true, force: true });
  });

  it('fails to open with store_unavailable when the file is not a database', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'slimfaas-embedded-'));
    writeFileSync(
      join(directory, DATABASE_FILE_NAME),
      'not a database, just text that is long enough'.repeat(50),
    );
    await expect(EmbeddedStateStore.open({ directory })).rejects.toMatchObject({ code: 'store_unavailable' });
    rmSync(directory, { recursive: true, force: true });
  });
});

function listTemp(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('slimfaas-store-'));
}
