import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdaptiveDatabase, InlineDatabase } from '../../src/stores/embedded/database-thread.js';
import type { OpOutcome } from '../../src/stores/embedded/store-ops.js';

const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [2], httpStatusRetries: [500] };
const directories: string[] = [];

function databaseFile(): string {
  const directory = mkdtempSync(join(tmpdir(), 'slimfaas-adaptive-'));
  directories.push(directory);
  return join(directory, 'slimfaas.db');
}

function value(outcome: OpOutcome | undefined): unknown {
  if (outcome === undefined || !outcome.ok) throw new Error(`operation failed: ${JSON.stringify(outcome)}`);
  return outcome.value;
}

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('AdaptiveDatabase (real SQLite file)', () => {
  it('stays on the calling thread while nothing changes, then moves to the worker and keeps every write', async () => {
    const file = databaseFile();
    const db = new AdaptiveDatabase(file);
    const idle = await db.run([
      { type: 'queues' },
      { type: 'lease', queue: 'q', options: { max: 4, owner: 'test', leaseMs: 1000, nowMs: 1000 } },
      { type: 'activity' },
      { type: 'counts', queue: 'q' },
    ]);
    expect(idle.every((outcome) => outcome.ok)).toBe(true);
    expect(db.onWorker).toBe(false);

    const payload = new Uint8Array([1, 2, 3]);
    const element = { id: 'e1', payload, enqueuedAtMs: 1000, policy: POLICY };
    expect(value((await db.run([{ type: 'enqueue', queue: 'q', element }]))[0])).toBe('enqueued');
    // Submitted while the worker starts: answered by the worker, in order, with the write above visible.
    const [second, counts] = await Promise.all([
      db.run([{ type: 'enqueue', queue: 'q', element: { ...element, id: 'e2' } }]),
      db.run([{ type: 'counts', queue: 'q' }]),
    ]);
    expect(value(second[0])).toBe('enqueued');
    expect(value(counts[0])).toMatchObject({ ready: 2, inFlight: 0 });
    expect(db.onWorker).toBe(true);
    await db.close();

    const reopened = new InlineDatabase(file);
    expect(value((await reopened.run([{ type: 'counts', queue: 'q' }]))[0])).toMatchObject({ ready: 2 });
    await reopened.close();
  });

  it('closes cleanly whether or not it moved', async () => {
    const idle = new AdaptiveDatabase(databaseFile());
    await idle.run([{ type: 'queues' }]);
    await idle.close();
    expect(idle.onWorker).toBe(false);

    const moving = new AdaptiveDatabase(databaseFile());
    const element = { id: 'x', payload: new Uint8Array([9]), enqueuedAtMs: 1, policy: POLICY };
    await moving.run([{ type: 'enqueue', queue: 'q', element }]);
    await moving.close(); // while the worker may still be starting
    expect(moving.onWorker).toBe(true);
  });
});
