import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlimFaasError } from '../../core/errors.js';
import { notifyAll } from '../../core/listeners.js';
import {
  StoreUnavailableError,
  type ActivityEvent,
  type AttemptEnd,
  type DeadLetter,
  type LeaseOperationResult,
  type LeaseOptions,
  type LeaseResult,
  type QueueCounts,
  type QueueElement,
  type StateStore,
} from '../../core/state-store.js';
import {
  AdaptiveDatabase,
  InlineDatabase,
  WorkerDatabase,
  failureError,
  type DatabaseThread,
} from './database-thread.js';
import type { OpResults, OpType, StoreOp } from './store-ops.js';
import { validateOp } from './validate-op.js';

export type EmbeddedStateStoreOptions = (
  | {
      /** Holds `slimfaas.db` (created if missing). */ readonly directory: string;
      readonly ephemeral?: false;
    }
  | {
      /** A new temp directory, removed on close (tests, `slimfaas up` without persistence). */ readonly ephemeral: true;
    }
) & {
  /**
   * `worker`: the connection runs in a worker thread. Measured with bench/store-enqueue.ts: a
   * commit's fsync and WAL checkpoints take 0.3 ms typically but 8–20 ms in the tail on this VM, and on the
   * main thread every such stall delays every sync proxy request; in the worker only enqueues wait for it,
   * and batches arriving meanwhile join the next commit. `main`: no worker (for tools and comparisons).
   * `adaptive` (default): the main thread until the first batch that changes the database, then the worker,
   * so an idle SlimFaas does not pay the worker's ~10 MiB (`AdaptiveDatabase`).
   */
  readonly thread?: 'adaptive' | 'worker' | 'main';
};

export const DATABASE_FILE_NAME = 'slimfaas.db';

interface Pending {
  readonly op: StoreOp;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * `StateStore` on one SQLite file (WAL, synchronous = FULL), for a single SlimFaas node.
 * Group commit: operations submitted in the same event-loop turn are sent as one batch, and the database commits
 * every batch waiting for it in one transaction: one fsync for the whole burst; each promise resolves after
 * that commit.
 */
export class EmbeddedStateStore implements StateStore {
  readonly #db: DatabaseThread;
  readonly #tempDirectory: string | undefined;
  readonly #listeners = new Set<(queue: string) => void>();
  readonly #activityListeners = new Set<(event: ActivityEvent) => void>();
  #pending: Pending[] = [];
  #flushScheduled = false;
  #closing: Promise<void> | undefined;

  private constructor(db: DatabaseThread, tempDirectory: string | undefined) {
    this.#db = db;
    this.#tempDirectory = tempDirectory;
  }

  static async open(options: EmbeddedStateStoreOptions): Promise<EmbeddedStateStore> {
    const directory = options.ephemeral ? mkdtempSync(join(tmpdir(), 'slimfaas-store-')) : options.directory;
    try {
      mkdirSync(directory, { recursive: true });
      const file = join(directory, DATABASE_FILE_NAME);
      const db = await openDatabaseThread(file, options.thread ?? 'adaptive');
      return new EmbeddedStateStore(db, options.ephemeral ? directory : undefined);
    } catch (error) {
      if (options.ephemeral) rmSync(directory, { recursive: true, force: true });
      throw new StoreUnavailableError(`cannot open the embedded store in ${directory}`, { cause: error });
    }
  }

  async enqueue(queue: string, element: QueueElement): Promise<'enqueued' | 'duplicate'> {
    const result = await this.#submit({ type: 'enqueue', queue, element });
    if (result === 'enqueued') this.#notify(queue);
    return result;
  }

  lease(queue: string, options: LeaseOptions): Promise<LeaseResult> {
    return this.#submit({ type: 'lease', queue, options });
  }

  complete(queue: string, id: string, leaseToken: string): Promise<LeaseOperationResult> {
    return this.#submit({ type: 'complete', queue, id, leaseToken });
  }

  retryLater(
    queue: string,
    id: string,
    leaseToken: string,
    options: AttemptEnd & { readonly notBeforeMs: number },
  ): Promise<LeaseOperationResult> {
    const { notBeforeMs, ...end } = options;
    return this.#submit({ type: 'retryLater', queue, id, leaseToken, end: end, notBeforeMs });
  }

  deadLetter(queue: string, id: string, leaseToken: string, end: AttemptEnd): Promise<LeaseOperationResult> {
    return this.#submit({ type: 'deadLetter', queue, id, leaseToken, end });
  }

  extendLease(
    queue: string,
    id: string,
    leaseToken: string,
    options: { readonly leaseMs: number; readonly nowMs: number },
  ): Promise<LeaseOperationResult> {
    return this.#submit({ type: 'extendLease', queue, id, leaseToken, ...options });
  }

  counts(queue: string): Promise<QueueCounts> {
    return this.#submit({ type: 'counts', queue });
  }

  queues(): Promise<readonly string[]> {
    return this.#submit({ type: 'queues' });
  }

  deadLetters(queue: string, options?: { readonly limit?: number }): Promise<readonly DeadLetter[]> {
    return this.#submit({ type: 'deadLetters', queue, limit: options?.limit ?? 100 });
  }

  async requeueDeadLetter(queue: string, id: string): Promise<{ readonly kind: 'requeued' | 'not-found' }> {
    const result = await this.#submit({ type: 'requeueDeadLetter', queue, id });
    if (result.kind === 'requeued') this.#notify(queue);
    return result;
  }

  deleteDeadLetter(queue: string, id: string): Promise<{ readonly kind: 'deleted' | 'not-found' }> {
    return this.#submit({ type: 'deleteDeadLetter', queue, id });
  }

  onEnqueued(listener: (queue: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async recordActivity(name: string, atMs: number): Promise<void> {
    await this.#submit({ type: 'recordActivity', name, atMs });
    notifyAll(this.#activityListeners, { name, atMs, origin: 'local' });
  }

  /** A single node has no peers: only this store's own writes are reported. */
  onActivity(listener: (event: ActivityEvent) => void): () => void {
    this.#activityListeners.add(listener);
    return () => this.#activityListeners.delete(listener);
  }

  activity(): Promise<ReadonlyMap<string, number>> {
    return this.#submit({ type: 'activity' });
  }

  getValue(key: string, nowMs: number): Promise<Uint8Array | undefined> {
    return this.#submit({ type: 'getValue', key, nowMs });
  }

  async setValue(key: string, value: Uint8Array, options?: { readonly expiresAtMs?: number }): Promise<void> {
    await this.#submit({ type: 'setValue', key, value, expiresAtMs: options?.expiresAtMs ?? null });
  }

  async deleteValue(key: string): Promise<void> {
    await this.#submit({ type: 'deleteValue', key });
  }

  deleteExpiredValues(nowMs: number): Promise<number> {
    return this.#submit({ type: 'deleteExpiredValues', nowMs });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    // Operations submitted before close still commit; each shutdown step runs even if the previous one failed.
    const last = this.#flush().catch(() => undefined);
    await last;
    try {
      await this.#db.close();
    } finally {
      if (this.#tempDirectory !== undefined) rmSync(this.#tempDirectory, { recursive: true, force: true });
    }
  }

  #submit<T extends OpType>(op: Extract<StoreOp, { type: T }>): Promise<OpResults[T]> {
    if (this.#closing !== undefined) return Promise.reject(new StoreUnavailableError('the store is closed'));
    const problem = validateOp(op);
    if (problem !== undefined) return Promise.reject(new SlimFaasError('bad_request', problem));
    return new Promise((resolve, reject) => {
      this.#pending.push({ op, resolve: resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    try {
      const outcomes = await this.#db.run(batch.map((p) => p.op));
      batch.forEach((p, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) p.resolve(outcome.value);
        else
          p.reject(
            unavailable(outcome === undefined ? new Error('missing outcome') : failureError(outcome.error)),
          );
      });
    } catch (error) {
      for (const p of batch) p.reject(unavailable(error));
    }
  }

  #notify(queue: string): void {
    notifyAll(this.#listeners, queue);
  }
}

function unavailable(cause: unknown): StoreUnavailableError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StoreUnavailableError(`embedded store: ${message}`, { cause });
}

function openDatabaseThread(file: string, thread: 'adaptive' | 'worker' | 'main'): Promise<DatabaseThread> {
  if (thread === 'worker') return WorkerDatabase.start(file);
  return Promise.resolve(thread === 'main' ? new InlineDatabase(file) : new AdaptiveDatabase(file));
}
