/** How a held request's wait ended. */
export type HoldOutcome = 'ready' | 'timeout' | 'aborted' | 'overflow' | 'shutdown';

interface Waiter {
  readonly settle: (outcome: HoldOutcome) => void;
}

/**
 * Requests waiting for a function to get a ready replica. Bounded per function (beyond the bound the
 * caller is told `overflow` at once and answers 503). `release(name)` is called by the topology listener
 * the moment a replica turns ready, so a held request is sent without any polling delay.
 */
export class HeldRequests {
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #maxPerFunction: number;

  constructor(maxPerFunction: number) {
    this.#maxPerFunction = maxPerFunction;
  }

  count(name: string): number {
    return this.#waiters.get(name)?.size ?? 0;
  }

  /**
   * Waits until `release(name)`, the timeout, or `onAbort` fires. `onAbort` registers a callback for the
   * client going away (its return value unregisters it).
   */
  hold(name: string, timeoutMs: number, onAbort: (abort: () => void) => () => void): Promise<HoldOutcome> {
    let set = this.#waiters.get(name);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(name, set);
    }
    if (set.size >= this.#maxPerFunction) return Promise.resolve('overflow');
    const waiters = set;
    return new Promise<HoldOutcome>((resolve) => {
      let done = false;
      const settle = (outcome: HoldOutcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unregister();
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#waiters.get(name) === waiters) this.#waiters.delete(name);
        resolve(outcome);
      };
      const waiter: Waiter = { settle };
      const timer = setTimeout(() => settle('timeout'), timeoutMs);
      const unregister = onAbort(() => settle('aborted'));
      waiters.add(waiter);
    });
  }

  /** Wakes every request held for `name`. */
  release(name: string): void {
    const set = this.#waiters.get(name);
    if (set === undefined) return;
    for (const waiter of [...set]) waiter.settle('ready');
  }

  /** Ends every wait (shutdown): each held request is answered by its own handler. */
  releaseAll(outcome: HoldOutcome): void {
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.settle(outcome);
  }
}
