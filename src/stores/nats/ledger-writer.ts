import type { KV } from '@nats-io/kv';
import { StoreUnavailableError } from '../../core/state-store.js';
import { isLive } from './nats-kv-records.js';
import { isWrongLastSequence, ledgerKey } from './nats-resources.js';
import { parseLedger, type Ledger } from './queue-ledger.js';

const MAX_CAS_ROUNDS = 20;

export type LedgerChange<T> = { readonly result: T; readonly write: boolean };
export type ChangeFn<T> = (ledger: Ledger) => LedgerChange<T> | Promise<LedgerChange<T>>;

interface Op {
  readonly change: ChangeFn<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The ledger as last read or written by this process and its KV revision (0: absent). `ledger` is the parsed
 * value, changed in place by the next batch: it is dropped whenever that batch's write does not succeed.
 */
interface Known {
  readonly ledger: Ledger;
  readonly revision: number;
  readonly absent: boolean;
}

/**
 * Group commit of a queue's ledger (one KV value, compare-and-set by revision). Changes submitted while a write
 * of the same queue is in flight are applied together, in submission order, to one copy of the ledger and
 * written with ONE compare-and-set; each caller's promise settles once that write succeeded (or its change
 * needed no write). After its own successful write the writer knows the ledger (parsed) and its revision, and
 * skips the read (and the parse) before the next compare-and-set; a concurrent writer (another replica) makes it fail with "wrong last
 * sequence", and the round reads again and re-applies every change (changes must be re-runnable, as with any
 * compare-and-set loop). A round that writes nothing is trusted only when read from the server: a result
 * computed on a remembered copy without a write is never checked by a compare-and-set, so it is redone on a
 * fresh read.
 */
export class LedgerWriter {
  readonly #kv: KV;
  readonly #known = new Map<string, Known>();
  readonly #pending = new Map<string, Op[]>();
  readonly #running = new Set<string>();

  constructor(kv: KV) {
    this.#kv = kv;
  }

  update<T>(queue: string, change: ChangeFn<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const op: Op = { change, resolve: resolve as (value: unknown) => void, reject };
      const waiting = this.#pending.get(queue);
      if (waiting === undefined) this.#pending.set(queue, [op]);
      else waiting.push(op);
      if (!this.#running.has(queue)) void this.#drain(queue);
    });
  }

  /** Runs batches of `queue` until none is waiting; at most one drain per queue. */
  async #drain(queue: string): Promise<void> {
    this.#running.add(queue);
    try {
      for (;;) {
        const batch = this.#pending.get(queue);
        if (batch === undefined || batch.length === 0) break;
        this.#pending.delete(queue);
        await this.#commit(queue, batch);
      }
    } finally {
      this.#running.delete(queue);
      this.#pending.delete(queue);
    }
  }

  async #commit(queue: string, batch: Op[]): Promise<void> {
    let ops = batch;
    try {
      for (let round = 0; round < MAX_CAS_ROUNDS && ops.length > 0; round++) {
        const remembered = this.#known.get(queue);
        // Taken out: the changes below mutate it, so only a successful write puts a copy back.
        this.#known.delete(queue);
        const base = remembered ?? (await this.#read(queue));
        const applied = await applyAll(base.ledger, ops);
        ops = applied.ops;
        if (applied.failed) continue;
        if (!applied.write) {
          if (remembered !== undefined) continue;
          this.#known.set(queue, base);
          settle(ops, applied.results);
          return;
        }
        if (await this.#compareAndSet(queue, base, applied.ledger)) {
          settle(ops, applied.results);
          return;
        }
      }
      const error = new StoreUnavailableError(`ledger of ${queue}: too many concurrent writers`);
      for (const op of ops) op.reject(error);
    } catch (error) {
      for (const op of ops) op.reject(error);
    }
  }

  async #read(queue: string): Promise<Known> {
    const entry = await this.#kv.get(ledgerKey(queue));
    const live = isLive(entry);
    // A delete marker has a revision too: the next write is an update against it.
    return {
      ledger: parseLedger(live ? entry.string() : undefined),
      revision: entry === null ? 0 : entry.revision,
      absent: !live,
    };
  }

  /** False when another writer changed the ledger since `base`; on success `ledger` becomes the known copy. */
  async #compareAndSet(queue: string, base: Known, ledger: Ledger): Promise<boolean> {
    const key = ledgerKey(queue);
    const json = JSON.stringify(ledger);
    try {
      const revision =
        base.absent && base.revision === 0
          ? await this.#kv.create(key, json)
          : await this.#kv.update(key, json, base.revision);
      this.#known.set(queue, { ledger, revision, absent: false });
      return true;
    } catch (error) {
      if (isWrongLastSequence(error)) return false;
      throw error;
    }
  }
}

/**
 * Applies each change in order to `ledger`. A change that throws is rejected and dropped, and `failed` asks
 * for a new round: it may have changed the ledger before throwing.
 */
async function applyAll(
  ledger: Ledger,
  ops: Op[],
): Promise<{ ledger: Ledger; ops: Op[]; results: unknown[]; write: boolean; failed: boolean }> {
  const results: unknown[] = [];
  let write = false;
  for (const op of ops) {
    try {
      const change = await op.change(ledger);
      results.push(change.result);
      write ||= change.write;
    } catch (error) {
      op.reject(error);
      return { ledger, ops: ops.filter((o) => o !== op), results, write, failed: true };
    }
  }
  return { ledger, ops, results, write, failed: false };
}

function settle(ops: readonly Op[], results: readonly unknown[]): void {
  ops.forEach((op, i) => op.resolve(results[i]));
}
