import type { Clock } from './clock.js';

/** What the scaler needs to know about a function's use. `lastActivityMs` 0 means never called. */
export interface FunctionActivity {
  readonly lastActivityMs: number;
  /** Requests (or wakes) still running: while > 0 the function counts as active now. */
  readonly inFlight: number;
}

const NEVER: FunctionActivity = Object.freeze({ lastActivityMs: 0, inFlight: 0 });

/**
 * Last activity per function, kept in memory on this SlimFaas process.
 * Invariant: `lastActivityMs` only moves forward (max-merge), so merging ticks from peers is safe.
 * Activity of this process (`touch`, `begin`, `end`) is announced to `subscribe` listeners, so that it can be
 * shared with the other replicas; activity learnt from them (`merge`) is not, so it never echoes back.
 */
export class ActivityTracker {
  readonly #clock: Clock;
  readonly #last = new Map<string, number>();
  readonly #inFlight = new Map<string, number>();
  readonly #listeners = new Set<(name: string, atMs: number) => void>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Records activity of this process at `atMs` (default now); older values are ignored. */
  touch(name: string, atMs: number = this.#clock.now()): void {
    this.merge(name, atMs);
    for (const listener of this.#listeners) listener(name, atMs);
  }

  /** Records activity learnt from another replica: like `touch`, without telling listeners. */
  merge(name: string, atMs: number): void {
    const previous = this.#last.get(name) ?? 0;
    if (atMs > previous) this.#last.set(name, atMs);
  }

  /**
   * Called synchronously on every local touch (the sync hot path: a listener must be cheap and must not
   * throw). Returns an unsubscribe function.
   */
  subscribe(listener: (name: string, atMs: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Functions with requests (or wakes) running on this process now. */
  inFlightNames(): IterableIterator<string> {
    return this.#inFlight.keys();
  }

  /** A request starts: the function is active until the matching `end`. */
  begin(name: string): void {
    this.touch(name);
    this.#inFlight.set(name, (this.#inFlight.get(name) ?? 0) + 1);
  }

  /** A request ends: activity is recorded at its end, so long requests never let a function time out. */
  end(name: string): void {
    this.touch(name);
    const n = (this.#inFlight.get(name) ?? 0) - 1;
    if (n > 0) this.#inFlight.set(name, n);
    else this.#inFlight.delete(name);
  }

  get(name: string): FunctionActivity {
    const last = this.#last.get(name);
    const inFlight = this.#inFlight.get(name) ?? 0;
    if (last === undefined && inFlight === 0) return NEVER;
    return { lastActivityMs: last ?? 0, inFlight };
  }
}
