import type { LeasedElement } from '../core/state-store.js';
import type { DispatchSlots } from './async-slots.js';

/** A leased element the dispatcher is sending, or holding while it waits for the function's callback. */
export interface Tracked {
  readonly queue: string;
  readonly element: LeasedElement;
  readonly replicaId: string;
  state: 'sending' | 'awaiting' | 'settled';
  /** While `awaiting`: when the callback window closes. */
  untilMs: number;
  /** A callback that arrived before the `202` was seen (the function called back faster than we parsed). */
  earlyVerdict: boolean | undefined;
}

/**
 * The elements this dispatcher holds leases for, by function and id, so that a callback finds its element.
 * An element waiting for its callback keeps a slot on its replica (`DispatchSlots.holdReplica`) until it is
 * forgotten; every path that ends the wait goes through `forget`, so the slot is given back exactly once.
 */
export class TrackedElements {
  readonly #byKey = new Map<string, Tracked>();
  readonly #slots: DispatchSlots;

  constructor(slots: DispatchSlots) {
    this.#slots = slots;
  }

  add(queue: string, element: LeasedElement, replicaId: string): Tracked {
    const tracked: Tracked = {
      queue,
      element,
      replicaId,
      state: 'sending',
      untilMs: 0,
      earlyVerdict: undefined,
    };
    this.#byKey.set(key(queue, element.id), tracked);
    return tracked;
  }

  /** The element still tracked (sending or awaiting its callback), if any. */
  get(queue: string, id: string): Tracked | undefined {
    return this.#byKey.get(key(queue, id));
  }

  isTracked(tracked: Tracked): boolean {
    return this.#byKey.get(key(tracked.queue, tracked.element.id)) === tracked;
  }

  /** The function answered `202`: the element waits for its callback until `untilMs`. */
  awaitCallback(tracked: Tracked, untilMs: number): void {
    tracked.state = 'awaiting';
    tracked.untilMs = untilMs;
    this.#slots.holdReplica(tracked.replicaId);
  }

  forget(tracked: Tracked): void {
    if (this.isTracked(tracked)) this.#byKey.delete(key(tracked.queue, tracked.element.id));
    if (tracked.state === 'awaiting') this.#slots.releaseReplica(tracked.replicaId);
    tracked.state = 'settled';
  }

  /** Forgets and returns the elements whose callback window closed at `nowMs`; also the next deadline. */
  takeExpired(nowMs: number): { readonly expired: Tracked[]; readonly nextAtMs: number | undefined } {
    const expired: Tracked[] = [];
    let nextAtMs: number | undefined;
    for (const tracked of this.#byKey.values()) {
      if (tracked.state !== 'awaiting') continue;
      if (tracked.untilMs <= nowMs) expired.push(tracked);
      else nextAtMs = Math.min(nextAtMs ?? tracked.untilMs, tracked.untilMs);
    }
    for (const tracked of expired) this.forget(tracked);
    return { expired, nextAtMs };
  }

  /** Forgets every element waiting for a callback (close, lost leadership): their leases expire. */
  forgetAwaiting(): void {
    for (const tracked of [...this.#byKey.values()]) if (tracked.state === 'awaiting') this.forget(tracked);
  }
}

function key(queue: string, id: string): string {
  return `${queue}\n${id}`;
}
