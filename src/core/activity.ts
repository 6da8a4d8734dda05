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
 */
export class ActivityTracker {
  readonly #clock: Clock;
  readonly #last = new Map<string, number>();
  readonly #inFlight = new Map<string, number>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Records activity at `atMs` (default now); older values are ignored. */
  touch(name: string, atMs: number = this.#clock.now()): void {
    const previous = this.#last.get(name) ?? 0;
    if (atMs > previous) this.#last.set(name, atMs);
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
