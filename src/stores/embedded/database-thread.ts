import { Worker } from 'node:worker_threads';
import { SqliteEngine } from './sqlite-engine.js';
import type { OpFailure, OpOutcome, StoreOp } from './store-ops.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

/** Where the SQLite connection lives. `run` commits the batch as one transaction. */
export interface DatabaseThread {
  run(ops: readonly StoreOp[]): Promise<readonly OpOutcome[]>;
  close(): Promise<void>;
}

export function failureError(failure: OpFailure): Error {
  return Object.assign(new Error(failure.message), { name: failure.name, code: failure.code });
}

/** The connection on the calling thread: every commit (and its fsync) blocks the event loop. */
export class InlineDatabase implements DatabaseThread {
  readonly #engine: SqliteEngine;
  constructor(file: string) {
    this.#engine = new SqliteEngine(file);
  }
  run(ops: readonly StoreOp[]): Promise<readonly OpOutcome[]> {
    try {
      return Promise.resolve(this.#engine.runBatch(ops));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
  close(): Promise<void> {
    this.#engine.close();
    return Promise.resolve();
  }
  totalChanges(): number {
    return this.#engine.totalChanges();
  }
}

/**
 * Starts on the calling thread and moves to a worker after the first batch that changed the database. An idle
 * SlimFaas (reads, leases that find nothing) then does not pay the worker thread's ~10 MiB of memory, and once
 * there are writes, fsync and checkpoints stay off the event loop as with `WorkerDatabase`. Only the batch that
 * triggers the move commits on the calling thread; batches submitted during the move wait for the worker, in
 * order. If the worker cannot start, the connection stays on the calling thread.
 */
export class AdaptiveDatabase implements DatabaseThread {
  readonly #file: string;
  readonly #inline: InlineDatabase;
  #moved: Promise<DatabaseThread> | undefined;
  #onWorker = false;

  constructor(file: string) {
    this.#file = file;
    this.#inline = new InlineDatabase(file);
  }

  /** Whether the connection now lives in the worker thread. */
  get onWorker(): boolean {
    return this.#onWorker;
  }

  run(ops: readonly StoreOp[]): Promise<readonly OpOutcome[]> {
    if (this.#moved !== undefined) return this.#moved.then((db) => db.run(ops));
    const before = this.#inline.totalChanges();
    const outcomes = this.#inline.run(ops);
    if (this.#inline.totalChanges() !== before) this.#moved = this.#moveToWorker();
    return outcomes;
  }

  async close(): Promise<void> {
    const db = this.#moved === undefined ? this.#inline : await this.#moved;
    await db.close();
  }

  async #moveToWorker(): Promise<DatabaseThread> {
    try {
      const worker = await WorkerDatabase.start(this.#file);
      await this.#inline.close();
      this.#onWorker = true;
      return worker;
    } catch {
      return this.#inline;
    }
  }
}

interface Waiter {
  resolve(outcomes: readonly OpOutcome[]): void;
  reject(error: Error): void;
}

/**
 * The connection in a worker thread, so fsync and checkpoints never stall the proxy's event loop, and batches
 * submitted while a commit is in progress are merged into the next one (see sqlite-worker.ts).
 */
export class WorkerDatabase implements DatabaseThread {
  readonly #worker: Worker;
  readonly #waiters = new Map<number, Waiter>();
  #nextBatchId = 1;
  #failure: Error | undefined;
  #closing: Promise<void> | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  static async start(file: string): Promise<WorkerDatabase> {
    const worker = spawnWorker({ file });
    let onMessage: (m: FromWorker) => void = () => undefined;
    let onError: (error: Error) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    await new Promise<void>((resolve, reject) => {
      onMessage = (m) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'open-failed') reject(failureError(m.error));
      };
      onError = reject;
      onExit = (code) => reject(new Error(`database worker exited with code ${code}`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    }).finally(() => {
      // Only our listeners: Worker keeps internal ones (removeAllListeners would stop message delivery).
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    });
    const db = new WorkerDatabase(worker);
    db.#listen();
    return db;
  }

  run(ops: readonly StoreOp[]): Promise<readonly OpOutcome[]> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const batchId = this.#nextBatchId++;
    return new Promise((resolve, reject) => {
      this.#waiters.set(batchId, { resolve, reject });
      this.#post({ type: 'batch', batchId, ops });
    });
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#failure !== undefined) return void this.#worker.terminate().then(() => resolve());
      this.#worker.once('exit', () => resolve());
      this.#post({ type: 'close' });
    });
    return this.#closing;
  }

  #post(message: ToWorker): void {
    this.#worker.postMessage(message);
  }

  #listen(): void {
    this.#worker.on('message', (m: FromWorker) => {
      if (m.type !== 'results' && m.type !== 'batch-failed') return;
      const waiter = this.#waiters.get(m.batchId);
      this.#waiters.delete(m.batchId);
      if (m.type === 'results') waiter?.resolve(m.outcomes);
      else waiter?.reject(failureError(m.error));
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`database worker exited with code ${code}`)));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.values()) waiter.reject(this.#failure);
    this.#waiters.clear();
  }
}

// Loads tsx in the worker when running from source (vitest, `node --import tsx`): on Node 20 a worker cannot
// load .ts files, even with `--import tsx` inherited (and that inherited registration deadlocks a second one,
// hence `execArgv: []`). The built .js needs none of this.
const TS_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((api) => api.tsImport(workerData.entry, workerData.entry));`;

function spawnWorker(init: WorkerInit): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './sqlite-worker.ts' : './sqlite-worker.js', import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: init });
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(TS_BOOTSTRAP, {
    eval: true,
    execArgv: [],
    workerData: { ...init, entry: entry.href, tsx },
  });
}
