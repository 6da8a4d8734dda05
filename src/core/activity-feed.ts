import type { Clock } from './clock.js';

/**
 * What happened. The first five keep SlimFaas's `NetworkActivityEvent.Type` names (reference §1.6);
 * the rest are ours (docs/dashboard.md).
 */
export type ActivityKind =
  | 'request_in' // a sync request reached the function route
  | 'request_out' // its answer ended (status), or it gave up waiting
  | 'enqueue' // an async request was stored
  | 'dequeue' // the dispatcher sent a stored request to a replica (attempt n)
  | 'event_publish' // a publish was fanned out to a subscriber's replica
  | 'attempt_end' // an async attempt ended: status or error, and what follows (complete, retry, dead)
  | 'wake' // a wake was asked for (sync request to a function at zero, wake route, queue with work)
  | 'scale_up' // the scaler raised the desired replica count (from → to, reason)
  | 'scale_down'; // the scaler lowered it

/** Optional details; which ones are set depends on the kind. */
export interface ActivityDetails {
  readonly status?: number;
  readonly error?: string;
  readonly from?: number;
  readonly to?: number;
  readonly reason?: string;
  /** The event name (`event_publish`). */
  readonly event?: string;
  readonly attempt?: number;
  /** `attempt_end`: `complete`, `retry` or `dead`. */
  readonly outcome?: string;
}

export interface ActivityEvent extends ActivityDetails {
  readonly kind: ActivityKind;
  readonly function: string;
  /** The replica id when one is involved and known. */
  readonly replica?: string;
  readonly timestampMs: number;
}

export type ActivityListener = (event: ActivityEvent) => void;

/**
 * A small synchronous pub/sub of what SlimFaas does, for the live status stream (and any observer).
 *
 * - Cheap when nobody listens: `record` returns before allocating anything when there is no listener,
 *   so publishers on the hot path call it unconditionally with primitive arguments; a caller that must
 *   build a details object first checks `active`.
 * - Bounded: at most `maxListeners` listeners (a leak shows up as an error, not as memory growth).
 * - Listeners run synchronously in the publisher's call; one that throws is reported to `onListenerError`
 *   and never reaches the publisher.
 */
export class ActivityFeed {
  readonly #clock: Clock;
  readonly #maxListeners: number;
  readonly #onListenerError: (error: unknown) => void;
  #listeners: readonly ActivityListener[] = [];

  constructor(options: {
    readonly clock: Clock;
    readonly maxListeners?: number;
    readonly onListenerError?: (error: unknown) => void;
  }) {
    this.#clock = options.clock;
    this.#maxListeners = options.maxListeners ?? 16;
    this.#onListenerError = options.onListenerError ?? (() => undefined);
  }

  /** True while at least one listener is subscribed. */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  /** Throws beyond `maxListeners`. Returns the unsubscribe function (idempotent). */
  subscribe(listener: ActivityListener): () => void {
    if (this.#listeners.length >= this.#maxListeners) {
      throw new Error(`ActivityFeed: at most ${this.#maxListeners} listeners`);
    }
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Publishes one event stamped with the clock's now. No-op without listeners. */
  record(kind: ActivityKind, fn: string, replica?: string, details?: ActivityDetails): void {
    const listeners = this.#listeners;
    if (listeners.length === 0) return;
    const event: ActivityEvent = {
      ...details,
      kind,
      function: fn,
      ...(replica === undefined ? {} : { replica }),
      timestampMs: this.#clock.now(),
    };
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
