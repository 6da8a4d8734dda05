import type { ActivityTracker } from '../core/activity.js';
import { awakeStatus } from '../core/awake-status.js';
import type { Clock } from '../core/clock.js';
import type { Logger, Orchestrator } from '../core/ports.js';
import type { StateStore } from '../core/state-store.js';
import { QueueCountsCache } from './queue-counts-cache.js';
import { functionStatusDetailed, nodeJson, queueJson, type SlimFaasNode } from './status-payload.js';

export interface StatusSnapshotDeps {
  readonly orchestrator: Pick<Orchestrator, 'functions'>;
  readonly activity: ActivityTracker;
  readonly store?: StateStore | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly scaledUpByDefaultWhenNeverCalled?: boolean | undefined;
  readonly nodeId: string;
  readonly isReady: () => boolean;
  readonly jobs?: (() => Promise<unknown>) | undefined;
  readonly nodes?: (() => readonly SlimFaasNode[] | Promise<readonly SlimFaasNode[]>) | undefined;
}

/**
 * Builds the status stream's `state` payload (reference §1.6 `StatusStreamPayload`, plus `TimestampMs`
 * and `QueuesError`) from the orchestrator's snapshot, the activity tracker, the store's queue counts
 * (cached: see QueueCountsCache) and the optional jobs and nodes providers. Never rejects: a provider
 * that fails gives its default (logged once per failure streak for the store).
 */
export class StatusSnapshot {
  readonly #d: StatusSnapshotDeps;
  readonly #counts: QueueCountsCache | undefined;
  #storeFailing = false;

  constructor(deps: StatusSnapshotDeps) {
    this.#d = deps;
    this.#counts = deps.store === undefined ? undefined : new QueueCountsCache(deps.store);
  }

  /** The queue of `name` may have changed (enqueue, dequeue, attempt end). */
  markQueueDirty(name: string): void {
    this.#counts?.markDirty(name);
  }

  /** `full`: re-read the queue counts of every function, not only those that may have changed. */
  async build(full: boolean): Promise<Record<string, unknown>> {
    const { orchestrator, activity, clock } = this.#d;
    const functions = [...orchestrator.functions().values()];
    const names = functions.map((fn) => fn.spec.name);
    const [queuesError, jobs, nodes] = await Promise.all([
      this.#refreshCounts(names, full),
      this.#jobs(),
      this.#nodes(),
    ]);
    const nowMs = clock.now();
    const awake = awakeStatus({
      functions,
      activity: (name) => activity.get(name),
      nowMs,
      scaledUpByDefaultWhenNeverCalled: this.#d.scaledUpByDefaultWhenNeverCalled ?? false,
      queued: (name) => this.#counts?.busy(name) ?? false,
    });
    const queues: object[] = [];
    for (const name of names) {
      const counts = this.#counts?.get(name);
      if (counts !== undefined) queues.push(queueJson(name, counts));
    }
    return {
      Functions: functions.map((fn) => functionStatusDetailed(fn, awake.get(fn.spec.name))),
      Queues: queues,
      Jobs: jobs,
      SlimFaasReplicas: nodes.length,
      SlimFaasNodes: nodes.map(nodeJson),
      FrontEnabled: true,
      FrontMessage: '',
      TimestampMs: nowMs,
      QueuesError: queuesError,
    };
  }

  /** Returns why the counts may be stale (`null` when they are fresh). */
  async #refreshCounts(names: readonly string[], full: boolean): Promise<string | null> {
    const counts = this.#counts;
    const store = this.#d.store;
    if (counts === undefined || store === undefined) return null;
    try {
      if (!full) for (const queue of await store.queues()) counts.markDirty(queue);
      const failure = await counts.refresh(names, full);
      if (failure === undefined) {
        this.#storeFailing = false;
        return null;
      }
      return this.#countsFailed(failure);
    } catch (error) {
      return this.#countsFailed(error);
    }
  }

  #countsFailed(error: unknown): string {
    if (!this.#storeFailing) this.#d.logger.warn({ err: error }, 'status stream: queue counts unavailable');
    this.#storeFailing = true;
    return 'the state store is unavailable; queue counts may be stale';
  }

  async #jobs(): Promise<unknown> {
    if (this.#d.jobs === undefined) return [];
    try {
      return await this.#d.jobs();
    } catch (error) {
      this.#d.logger.warn({ err: error }, 'status stream: jobs unavailable');
      return [];
    }
  }

  async #nodes(): Promise<readonly SlimFaasNode[]> {
    const own = [{ id: this.#d.nodeId, leader: true, ready: this.#d.isReady() }];
    if (this.#d.nodes === undefined) return own;
    try {
      return await this.#d.nodes();
    } catch (error) {
      this.#d.logger.warn({ err: error }, 'status stream: node list unavailable');
      return own;
    }
  }
}
