import type { ActivityFeed } from '../core/activity-feed.js';
import type { ActivityTracker } from '../core/activity.js';
import type { Clock } from '../core/clock.js';
import { decideReplicas } from '../core/decide-replicas.js';
import type { Logger, Orchestrator, Waker } from '../core/ports.js';

export interface ScalerWorkerOptions {
  readonly orchestrator: Orchestrator;
  readonly activity: ActivityTracker;
  /** The live activity feed: `wake` when a wake starts, `scale_up`/`scale_down` per decision. */
  readonly feed?: ActivityFeed;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly scaledUpByDefaultWhenNeverCalled: boolean;
  /** Only the leader scales; with a single SlimFaas process this is always true. */
  readonly isLeader?: () => boolean;
  /** Whether a function's async queue holds work: only used to give `queue` as the reason. */
  readonly queued?: (name: string) => boolean;
}

/**
 * Applies `decideReplicas` decisions. Runs on a timer (for idle timeouts and schedules) and, so that waking
 * is pushed rather than polled, at once after a wake or any topology change (a dependency turning ready).
 * Evaluations are coalesced: at most one runs per event-loop turn.
 */
export class ScalerWorker implements Waker {
  readonly #o: ScalerWorkerOptions;
  readonly #pendingWakes = new Map<string, NodeJS.Timeout>();
  #timer: NodeJS.Timeout | undefined;
  #scheduled = false;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(options: ScalerWorkerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#unsubscribe = this.#o.orchestrator.subscribe((event) => {
      if (event.kind === 'replica-ready') this.#endWake(event.name);
      this.evaluateSoon();
    });
    this.#timer = setInterval(() => this.evaluate(), this.#o.intervalMs);
    this.#timer.unref();
    this.evaluate();
  }

  /**
   * A wake counts as an in-flight request until the function has a ready replica (or its sync timeout
   * passes), so a slow-starting function is not scaled back down before it could serve.
   */
  wake(name: string): void {
    const fn = this.#o.orchestrator.functions().get(name);
    if (fn === undefined) return;
    if (fn.replicas.some((r) => r.ready)) {
      this.#o.activity.touch(name);
      return;
    }
    if (!this.#pendingWakes.has(name)) {
      this.#o.logger.info({ function: name }, `wake ${name}`);
      this.#o.activity.begin(name);
      this.#o.feed?.record('wake', name);
      const timer = setTimeout(
        () => this.#endWake(name),
        fn.spec.configuration.defaultSync.httpTimeoutSeconds * 1000,
      );
      timer.unref();
      this.#pendingWakes.set(name, timer);
    }
    this.evaluateSoon();
  }

  evaluateSoon(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.evaluate();
    });
  }

  evaluate(): void {
    if (this.#closed || (this.#o.isLeader !== undefined && !this.#o.isLeader())) return;
    const { orchestrator, activity, clock, logger } = this.#o;
    const decisions = decideReplicas({
      functions: [...orchestrator.functions().values()],
      activity: (name) => activity.get(name),
      nowMs: clock.now(),
      scaledUpByDefaultWhenNeverCalled: this.#o.scaledUpByDefaultWhenNeverCalled,
      ...(this.#o.queued === undefined ? {} : { queued: this.#o.queued }),
    });
    for (const decision of decisions) {
      const { name, from, to, reason } = decision;
      logger.info({ function: name, from, to, reason }, `scale ${name} ${from} -> ${to} (${reason})`);
      this.#o.feed?.record(to > from ? 'scale_up' : 'scale_down', name, undefined, { from, to, reason });
      orchestrator.setReplicas(decision.name, decision.to).catch((error: unknown) => {
        logger.error(
          { function: decision.name, err: error },
          'scale request failed; retrying at the next evaluation',
        );
      });
    }
  }

  #endWake(name: string): void {
    const timer = this.#pendingWakes.get(name);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#pendingWakes.delete(name);
    this.#o.activity.end(name);
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const name of [...this.#pendingWakes.keys()]) this.#endWake(name);
  }
}
