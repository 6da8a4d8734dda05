import { randomUUID } from 'node:crypto';
import type { ActivityFeed } from '../core/activity-feed.js';
import type { ActivityTracker } from '../core/activity.js';
import { decodeStoredRequest, storedRequestId, type StoredRequest } from '../core/async-request.js';
import type { Clock } from '../core/clock.js';
import type { AsyncCallbackSink, Logger, Orchestrator, Waker } from '../core/ports.js';
import type { AttemptEnd, LeaseOperationResult, LeasedElement, StateStore } from '../core/state-store.js';
import { readyReplicas, type FunctionState, type Replica } from '../core/topology.js';
import { DeliveryPools, attemptHeaders, sendAttempt } from './async-attempt.js';
import { nextStep, type AttemptOutcome, type FinalStep } from './async-next-step.js';
import { logLeaseLost, recordStep } from './async-outcome.js';
import { PassLoop } from './async-pass-loop.js';
import { DispatchSlots } from './async-slots.js';
import { TrackedElements, type Tracked } from './async-tracked.js';

export interface AsyncDispatcherOptions {
  readonly store: StateStore;
  readonly orchestrator: Orchestrator;
  /** Called when a queue has work and its function has no ready replica (wake from zero). */
  readonly waker: Waker;
  readonly activity: ActivityTracker;
  /** The live activity feed: `dequeue` per attempt sent, `attempt_end` per outcome recorded. */
  readonly feed?: ActivityFeed;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Only the leader dispatches; with a single SlimFaas process this is always true (the default). */
  readonly isLeader?: () => boolean;
  /** Lease owner recorded in the store (diagnostics). Default `async-dispatcher-<pid>-<random>`. */
  readonly owner?: string;
  /** Period of the safety pass that catches what no event announced. Default 1000; 0 disables it. */
  readonly safetyIntervalMs?: number;
  /** Lease length beyond HttpTimeout, to record the outcome before the lease can expire. Default 10 000. */
  readonly leaseMarginMs?: number;
}

interface Delivery {
  readonly tracked: Tracked;
  readonly replica: Replica;
  /** The lease length the element was leased with. */
  readonly leaseMs: number;
  /** Aborted by `close()` and on lost leadership. */
  readonly signal: AbortSignal;
  /** Gives the function and replica slots back; idempotent. */
  readonly release: () => void;
}

/**
 * Delivers durable async requests to functions (SlimFaas's SlimQueuesWorker, reference §4.3).
 *
 * - Event-driven: a pass runs on `store.onEnqueued`, on topology events, when a delivery ends, at the store's
 *   `nextAvailableAtMs` and at the next callback deadline; plus a slow safety pass. Passes are coalesced and
 *   serialized: at most one runs, and a pass requested meanwhile runs once right after it. Serializing makes
 *   the slot arithmetic exact: only a pass takes slots, deliveries only give them back.
 * - Per function: FIFO leases (the store's order), at most `NumberParallelRequest` HTTP attempts in flight and
 *   `NumberParallelRequestPerPod` per replica (`DispatchSlots`), least connections across ready replicas.
 * - Outcomes go through `nextStep` (the retry rule); the store records them. On `close()` or lost leadership
 *   attempts in flight are abandoned without an outcome: their leases expire and the store redelivers them.
 */
export class AsyncDispatcher implements AsyncCallbackSink {
  readonly #o: AsyncDispatcherOptions;
  readonly #owner: string;
  readonly #leaseMarginMs: number;
  readonly #pools = new DeliveryPools();
  readonly #slots = new DispatchSlots();
  readonly #tracked = new TrackedElements(this.#slots);
  readonly #deliveries = new Map<AbortController, Promise<void>>();
  readonly #unsubscribes: (() => void)[] = [];
  readonly #passes = new PassLoop(() => this.#pass());
  #wakeUpTimer: NodeJS.Timeout | undefined;
  #safetyTimer: NodeJS.Timeout | undefined;
  #passFailing = false;
  /** Queues that may hold work; a full pass (`#refreshQueues`) re-reads them from the store. */
  readonly #knownQueues = new Set<string>();
  /** Enqueue announcements per queue: a queue announced while its lease ran is not dropped as empty. */
  readonly #announcements = new Map<string, number>();
  #refreshQueues = true;
  #closing: Promise<void> | undefined;

  constructor(options: AsyncDispatcherOptions) {
    this.#o = options;
    this.#owner = options.owner ?? `async-dispatcher-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#leaseMarginMs = options.leaseMarginMs ?? 10_000;
  }

  /** Subscribes to the store and the orchestrator, starts the safety pass and runs a first pass. */
  start(): void {
    if (this.#closing !== undefined || this.#unsubscribes.length > 0) return;
    const { store, orchestrator } = this.#o;
    this.#unsubscribes.push(
      store.onEnqueued((queue) => {
        this.#knownQueues.add(queue);
        this.#announcements.set(queue, (this.#announcements.get(queue) ?? 0) + 1);
        this.#requestPass();
      }),
      orchestrator.subscribe((event) => {
        this.#retainPools();
        if (event.kind !== 'function-removed') this.#requestPass();
      }),
    );
    const safetyIntervalMs = this.#o.safetyIntervalMs ?? 1000;
    if (safetyIntervalMs > 0) {
      this.#safetyTimer = setInterval(() => this.runPass(), safetyIntervalMs);
      this.#safetyTimer.unref();
    }
    this.#requestPass();
  }

  /**
   * Runs a full dispatch pass (every queue the store knows) and resolves once a pass that started after this
   * call has finished; tests use it with a ManualClock. Deliveries it started may still run: see `whenIdle`.
   */
  runPass(): Promise<void> {
    this.#refreshQueues = true;
    return this.#passes.request();
  }

  /** Resolves when no pass runs and no HTTP attempt is in flight (elements awaiting a callback may remain). */
  async whenIdle(): Promise<void> {
    while (this.#passes.running !== undefined || this.#deliveries.size > 0) {
      await Promise.allSettled([this.#passes.running, ...this.#deliveries.values()]);
    }
  }

  async callback(
    functionName: string,
    elementId: string,
    succeeded: boolean,
  ): Promise<'accepted' | 'not-found'> {
    const tracked = this.#tracked.get(functionName, elementId);
    if (tracked === undefined || tracked.state === 'settled' || this.#closing !== undefined)
      return 'not-found';
    if (tracked.state === 'sending') {
      tracked.earlyVerdict = succeeded;
      return 'accepted';
    }
    this.#tracked.forget(tracked);
    const { element } = tracked;
    const step = nextStep(
      { kind: 'callback', succeeded },
      element.attempt,
      element.policy,
      this.#o.clock.now(),
    );
    await this.#record(tracked, step);
    this.#requestPass();
    return 'accepted';
  }

  /** Stops passes and abandons attempts in flight (their leases expire; they are redelivered). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#safetyTimer);
    clearTimeout(this.#wakeUpTimer);
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    this.#passes.stop();
    this.#abandonAll();
    await Promise.allSettled([this.#passes.running, ...this.#deliveries.values()]);
    await this.#pools.destroyAll();
  }

  /** A pass over the known queues: events name the queue that changed, so no store round trip to list them. */
  /** Whether `name`'s queue held work at the last pass (ready, in flight or waiting for a retry). */
  hasQueuedWork(name: string): boolean {
    return this.#knownQueues.has(name);
  }

  #requestPass(): void {
    void this.#passes.request();
  }

  async #pass(): Promise<void> {
    if (!this.#leads()) {
      this.#abandonAll();
      return;
    }
    try {
      let nextAtMs = await this.#expireCallbacks();
      if (this.#refreshQueues) {
        this.#refreshQueues = false;
        for (const name of await this.#o.store.queues()) this.#knownQueues.add(name);
      }
      const functions = this.#o.orchestrator.functions();
      for (const name of [...this.#knownQueues]) {
        const fn = functions.get(name);
        // Leadership may be lost during a pass: lease nothing more (the next pass abandons what is in flight).
        if (fn === undefined || this.#closing !== undefined || !this.#leads()) continue;
        // Keeps the function up while its queue holds work (ready, in flight or waiting for a retry).
        this.#o.activity.touch(name);
        const announced = this.#announcements.get(name);
        const next = await this.#dispatchQueue(fn);
        if (next !== 'empty') nextAtMs = earliest(nextAtMs, next);
        else if (this.#announcements.get(name) === announced) this.#forgetQueue(name);
      }
      this.#scheduleWakeUp(nextAtMs);
      this.#passFailing = false;
    } catch (error) {
      // Logged once per failure streak; the safety pass and the next events retry.
      if (!this.#passFailing) this.#o.logger.warn({ err: error }, 'async dispatch pass failed');
      this.#passFailing = true;
    }
  }

  /**
   * Leases as many elements as there are free slots and starts their deliveries. Returns the next time an
   * element becomes due, or `empty` when the queue holds nothing but dead letters.
   */
  async #dispatchQueue(fn: FunctionState): Promise<number | undefined | 'empty'> {
    const { spec } = fn;
    const ready = readyReplicas(fn);
    if (ready.length === 0) {
      this.#o.waker.wake(spec.name);
      return undefined;
    }
    const max = this.#slots.free(spec, ready);
    if (max === 0) return undefined;
    const leaseMs = spec.configuration.defaultAsync.httpTimeoutSeconds * 1000 + this.#leaseMarginMs;
    const nowMs = this.#o.clock.now();
    const leased = await this.#o.store.lease(spec.name, { max, owner: this.#owner, leaseMs, nowMs });
    for (const element of leased.elements) {
      // Never undefined: `max` counted the free replica slots, and only this pass takes them.
      const replica = this.#slots.pick(spec, ready) ?? ready[0];
      if (replica === undefined) break;
      this.#startDelivery(spec.name, element, replica, leaseMs);
    }
    if (leased.elements.length === 0 && leased.nextAvailableAtMs === undefined) return 'empty';
    return leased.nextAvailableAtMs;
  }

  #startDelivery(queue: string, element: LeasedElement, replica: Replica, leaseMs: number): void {
    const tracked = this.#tracked.add(queue, element, replica.id);
    this.#slots.acquire(queue, replica.id);
    this.#o.activity.begin(queue);
    if (this.#o.feed?.active === true)
      this.#o.feed.record('dequeue', queue, replica.id, { attempt: element.attempt });
    const controller = new AbortController();
    let released = false;
    // The slots are given back as soon as the HTTP exchange ends, before its outcome is stored: the next
    // lease then joins the same store commit as this outcome.
    const release = (): void => {
      if (released) return;
      released = true;
      this.#slots.release(queue, replica.id);
      this.#o.activity.end(queue);
      this.#requestPass();
    };
    const done = this.#deliver({ tracked, replica, leaseMs, signal: controller.signal, release })
      .catch((error: unknown) => {
        this.#o.logger.error(
          { function: queue, id: element.id, attempt: element.attempt, err: error },
          'async delivery failed to record its outcome; the element is redelivered when its lease expires',
        );
      })
      .finally(() => {
        if (tracked.state === 'sending') this.#tracked.forget(tracked);
        this.#deliveries.delete(controller);
        release();
      });
    this.#deliveries.set(controller, done);
  }

  async #deliver(delivery: Delivery): Promise<void> {
    const { tracked, replica, leaseMs, signal } = delivery;
    const { queue, element } = tracked;
    let request: StoredRequest;
    try {
      request = decodeStoredRequest(element.payload);
    } catch {
      const end: AttemptEnd = { endedAtMs: this.#o.clock.now(), lastError: 'undecodable-request' };
      return this.#record(tracked, { kind: 'dead', reason: 'undecodable-request', end });
    }
    const timeoutMs = element.policy.httpTimeoutSeconds * 1000;
    if (timeoutMs + this.#leaseMarginMs > leaseMs) {
      // Accepted under a longer HttpTimeout than the function has now: the element's own policy rules.
      const leaseOptions = { leaseMs: timeoutMs + this.#leaseMarginMs, nowMs: this.#o.clock.now() };
      const extended = await this.#o.store.extendLease(queue, element.id, element.leaseToken, leaseOptions);
      if (extended.kind !== 'ok') return this.#leaseLost(tracked, extended);
    }
    const startedAt = performance.now();
    const result = await sendAttempt({
      pool: this.#pools.get(replica.origin),
      request,
      headers: attemptHeaders(request, element),
      timeoutMs,
      signal,
    });
    if (result.kind === 'abandoned') return;
    this.#o.logger.debug(
      {
        function: queue,
        id: element.id,
        requestId: storedRequestId(request),
        attempt: element.attempt,
        replica: replica.id,
        ...result.outcome,
        durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
      },
      'async delivery',
    );
    await Promise.all([this.#settle(tracked, result.outcome), result.bodyDone.then(delivery.release)]);
  }

  /** Applies the outcome of an HTTP attempt; a `202` keeps the lease until the callback or the deadline. */
  async #settle(tracked: Tracked, outcome: AttemptOutcome): Promise<void> {
    const { queue, element } = tracked;
    const nowMs = this.#o.clock.now();
    let step = nextStep(outcome, element.attempt, element.policy, nowMs);
    if (step.kind === 'await-callback' && tracked.earlyVerdict !== undefined) {
      step = nextStep(
        { kind: 'callback', succeeded: tracked.earlyVerdict },
        element.attempt,
        element.policy,
        nowMs,
      );
    }
    if (step.kind !== 'await-callback') {
      this.#tracked.forget(tracked);
      return this.#record(tracked, step);
    }
    // Marked before the store call, so a callback arriving meanwhile is accepted; the store applies its
    // `complete` after this extension (operations are applied in submission order).
    this.#tracked.awaitCallback(tracked, step.untilMs);
    const leaseOptions = { leaseMs: step.untilMs - nowMs + this.#leaseMarginMs, nowMs };
    const extended = await this.#o.store.extendLease(queue, element.id, element.leaseToken, leaseOptions);
    if (extended.kind !== 'ok' && this.#tracked.isTracked(tracked)) {
      this.#tracked.forget(tracked);
      this.#leaseLost(tracked, extended);
    }
  }

  /** Ends the callback windows that passed; returns the earliest deadline still open. */
  async #expireCallbacks(): Promise<number | undefined> {
    const nowMs = this.#o.clock.now();
    const { expired, nextAtMs } = this.#tracked.takeExpired(nowMs);
    await Promise.all(
      expired.map((t) =>
        this.#record(t, nextStep({ kind: 'callback-timeout' }, t.element.attempt, t.element.policy, nowMs)),
      ),
    );
    return nextAtMs;
  }

  #record(tracked: Tracked, step: FinalStep): Promise<void> {
    if (this.#o.feed?.active === true) {
      const end = step.kind === 'complete' ? {} : { status: step.end.lastStatus, error: step.end.lastError };
      const details = { outcome: step.kind, attempt: tracked.element.attempt, ...end };
      this.#o.feed.record('attempt_end', tracked.queue, tracked.replicaId, details);
    }
    return recordStep(this.#o, tracked, step);
  }

  #leaseLost(tracked: Tracked, result: LeaseOperationResult): void {
    logLeaseLost(this.#o.logger, tracked, result);
  }

  #leads(): boolean {
    return this.#o.isLeader === undefined || this.#o.isLeader();
  }

  #abandonAll(): void {
    for (const controller of this.#deliveries.keys()) controller.abort(new Error('async dispatcher stopped'));
    this.#tracked.forgetAwaiting();
  }

  #scheduleWakeUp(atMs: number | undefined): void {
    clearTimeout(this.#wakeUpTimer);
    this.#wakeUpTimer = undefined;
    if (atMs === undefined || this.#closing !== undefined) return;
    const delayMs = Math.min(Math.max(1, atMs - this.#o.clock.now()), 2 ** 31 - 1);
    this.#wakeUpTimer = setTimeout(() => this.#requestPass(), delayMs);
    this.#wakeUpTimer.unref();
  }

  /** Drops an empty queue from the passes, until its next announcement or full pass. */
  #forgetQueue(name: string): void {
    this.#knownQueues.delete(name);
    this.#announcements.delete(name);
  }

  #retainPools(): void {
    const live = new Set<string>();
    for (const fn of this.#o.orchestrator.functions().values()) {
      for (const replica of fn.replicas) live.add(replica.origin);
    }
    this.#pools.retain(live);
  }
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
