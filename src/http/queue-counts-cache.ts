import type { QueueCounts, StateStore } from '../core/state-store.js';

const PARALLEL_COUNTS = 8;

/**
 * Queue counts for the status stream without asking the store about every function on every frame
 * (the NATS store needs three round trips per queue). A refresh asks only about:
 * - queues named by a change since the last refresh (`markDirty`: enqueue, dequeue, attempt end);
 * - queues whose last counts were not all zero (they drain, or expire leases, without local events);
 * - with `full`, every function (dead letters deleted by hand, enqueues by other nodes).
 * Counts that could not be read keep their previous value; the refresh reports the failure.
 */
export class QueueCountsCache {
  readonly #store: StateStore;
  readonly #counts = new Map<string, QueueCounts>();
  readonly #dirty = new Set<string>();

  constructor(store: StateStore) {
    this.#store = store;
  }

  markDirty(name: string): void {
    this.#dirty.add(name);
  }

  get(name: string): QueueCounts | undefined {
    return this.#counts.get(name);
  }

  /** True when the queue holds work: ready, in flight or waiting for a retry. */
  busy(name: string): boolean {
    const c = this.#counts.get(name);
    return c !== undefined && c.ready + c.inFlight + c.retryPending > 0;
  }

  /** Refreshes what may have changed among `names`; resolves with the first error, if any. */
  async refresh(names: readonly string[], full: boolean): Promise<unknown> {
    const known = new Set(names);
    for (const name of this.#counts.keys()) if (!known.has(name)) this.#counts.delete(name);
    let wanted: string[];
    if (full) wanted = names.slice();
    else {
      const set = new Set<string>();
      for (const name of this.#dirty) if (known.has(name)) set.add(name);
      for (const [name, c] of this.#counts) if (c.ready + c.inFlight + c.retryPending > 0) set.add(name);
      wanted = [...set];
    }
    this.#dirty.clear();
    let failure: unknown;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < wanted.length) {
        const name = wanted[next++] as string;
        try {
          this.#counts.set(name, await this.#store.counts(name));
        } catch (error) {
          failure ??= error;
          this.#dirty.add(name);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_COUNTS, wanted.length) }, worker));
    return failure;
  }
}
