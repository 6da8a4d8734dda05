import type { ActivityTracker } from '../core/activity.js';
import type { Clock } from '../core/clock.js';
import type { Leadership } from '../core/leadership.js';
import type { Logger, Orchestrator, Waker } from '../core/ports.js';
import type { ActivityEvent, StateStore } from '../core/state-store.js';

export interface ActivitySyncOptions {
  readonly store: Pick<StateStore, 'recordActivity' | 'activity' | 'onActivity'>;
  readonly activity: ActivityTracker;
  /** This process's waker (the scaler): acts only on the leader. */
  readonly scaler: Waker;
  readonly orchestrator: Pick<Orchestrator, 'functions'>;
  readonly leadership: Pick<Leadership, 'isLeader'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * At most one write per function per period from the hot path (a wake is written at once), and the period
   * at which functions with requests running here are written again. Default 1000.
   */
  readonly throttleMs?: number;
}

/**
 * Shares activity between SlimFaas replicas through the store, so that the leader — the only one that scales —
 * knows about requests served by the others, at once rather than on a timer.
 *
 * - Local activity (`ActivityTracker.subscribe`) is written with `store.recordActivity`, fire and forget (the
 *   sync path never awaits the store): at most once per function per `throttleMs`; what the throttle held back
 *   is written at the next tick; a function with requests in flight here is written every tick, so a long
 *   request on a follower keeps the function alive on the leader.
 * - `wake` (the `Waker` given to the routes and the dispatcher) writes at once: on a follower that is how the
 *   leader learns that a function at zero is wanted.
 * - Peers' activity (`store.onActivity`, origin `peer`) is merged into the tracker on every node, so a node that
 *   becomes leader already knows it; the leader also wakes the function when it has no ready replica.
 * - Store failures are logged once per failure streak; the activity is simply written again later.
 */
export class ActivitySync implements Waker {
  readonly #o: ActivitySyncOptions;
  readonly #throttleMs: number;
  /** When a write of the function was last started (this node's clock). */
  readonly #sentAtMs = new Map<string, number>();
  /** Activity held back by the throttle: the latest time per function. */
  readonly #held = new Map<string, number>();
  readonly #writing = new Map<string, Promise<void>>();
  readonly #unsubscribes: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #closed = false;

  constructor(options: ActivitySyncOptions) {
    this.#o = options;
    this.#throttleMs = options.throttleMs ?? 1000;
  }

  /** Subscribes, then reads the activity already stored (so a new leader does not take used functions for idle). */
  async start(): Promise<void> {
    if (this.#timer !== undefined || this.#closed) return;
    const { store, activity } = this.#o;
    this.#unsubscribes.push(
      store.onActivity((event) => this.#onStored(event)),
      activity.subscribe((name, atMs) => this.#onLocal(name, atMs)),
    );
    this.#timer = setInterval(() => this.#tick(), this.#throttleMs);
    this.#timer.unref();
    try {
      for (const [name, atMs] of await store.activity()) activity.merge(name, atMs);
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'could not read the shared activity; continuing with what arrives');
    }
  }

  wake(name: string): void {
    this.#write(name, this.#o.clock.now());
    this.#o.scaler.wake(name);
  }

  /** Writes what the throttle held back, then waits for the writes in flight. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearInterval(this.#timer);
      for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
      for (const [name, atMs] of [...this.#held]) this.#write(name, atMs);
    }
    await Promise.allSettled([...this.#writing.values()]);
  }

  #onLocal(name: string, atMs: number): void {
    const sentAtMs = this.#sentAtMs.get(name);
    if (sentAtMs === undefined || atMs - sentAtMs >= this.#throttleMs) this.#write(name, atMs);
    else this.#hold(name, atMs);
  }

  #onStored(event: ActivityEvent): void {
    if (event.origin === 'local') return;
    this.#o.activity.merge(event.name, event.atMs);
    if (!this.#o.leadership.isLeader()) return;
    const fn = this.#o.orchestrator.functions().get(event.name);
    if (fn !== undefined && !fn.replicas.some((r) => r.ready)) this.#o.scaler.wake(event.name);
  }

  #tick(): void {
    const nowMs = this.#o.clock.now();
    for (const [name, atMs] of [...this.#held]) this.#write(name, atMs);
    for (const name of this.#o.activity.inFlightNames()) {
      if (nowMs - (this.#sentAtMs.get(name) ?? 0) >= this.#throttleMs) this.#write(name, nowMs);
    }
  }

  #hold(name: string, atMs: number): void {
    this.#held.set(name, Math.max(atMs, this.#held.get(name) ?? 0));
  }

  /** One write per function at a time; activity arriving meanwhile waits for the next tick. */
  #write(name: string, atMs: number): void {
    if (this.#writing.has(name)) return this.#hold(name, atMs);
    this.#held.delete(name);
    this.#sentAtMs.set(name, this.#o.clock.now());
    const written = this.#o.store.recordActivity(name, atMs).then(
      () => {
        if (this.#failing) this.#o.logger.info({}, 'activity is shared again');
        this.#failing = false;
      },
      (error: unknown) => {
        if (!this.#failing) {
          this.#o.logger.warn(
            { err: error, function: name },
            'could not share activity with the other replicas',
          );
        }
        this.#failing = true;
      },
    );
    this.#writing.set(name, written);
    void written.finally(() => this.#writing.delete(name));
  }
}
