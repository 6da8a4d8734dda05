/** Time source, injected so tests never sleep to reach a timeout. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/**
 * Epoch-based like `systemClock`, but never jumps (NTP steps, manual changes): for durations such as leases,
 * where a clock moved backwards would extend a lease.
 */
export const monotonicClock: Clock = Object.freeze({ now: () => performance.timeOrigin + performance.now() });

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  #now: number;
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  set(ms: number): void {
    this.#now = ms;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}
