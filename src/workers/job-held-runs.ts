import type { JobRunView } from '../core/job-ports.js';
import type { JobRunPhase } from '../core/job-runner.js';
import type { QueuedJob } from '../core/job-spec.js';

/** A job element this worker holds the lease of: queued (not started) or running. */
export interface HeldRun {
  readonly configName: string;
  readonly elementId: string;
  readonly leaseToken: string;
  readonly job: QueuedJob;
  state: 'queued' | 'running';
  startedAtMs?: number;
}

/** The held elements per job in FIFO order (the store's lease order), indexed by run name too. */
export class HeldRuns {
  readonly #byConfig = new Map<string, HeldRun[]>();
  readonly #byRunName = new Map<string, HeldRun>();

  list(configName: string): HeldRun[] {
    let list = this.#byConfig.get(configName);
    if (list === undefined) this.#byConfig.set(configName, (list = []));
    return list;
  }

  add(run: HeldRun): void {
    this.list(run.configName).push(run);
    this.#byRunName.set(run.job.runName, run);
  }

  byRunName(runName: string): HeldRun | undefined {
    return this.#byRunName.get(runName);
  }

  find(configName: string, elementId: string): HeldRun | undefined {
    return this.#byConfig.get(configName)?.find((h) => h.elementId === elementId);
  }

  forget(run: HeldRun): void {
    const list = this.#byConfig.get(run.configName);
    const index = list?.indexOf(run) ?? -1;
    if (index >= 0) list?.splice(index, 1);
    if (this.#byRunName.get(run.job.runName) === run) this.#byRunName.delete(run.job.runName);
  }

  /** Removes and returns every held run. */
  takeAll(): HeldRun[] {
    const all = [...this.#byRunName.values()];
    this.#byConfig.clear();
    this.#byRunName.clear();
    return all;
  }

  all(): HeldRun[] {
    return [...this.#byRunName.values()];
  }

  /** Started runs newest first, then queued ones in FIFO order. */
  views(configName: string, phaseOf: (runName: string) => JobRunPhase | undefined): JobRunView[] {
    const held = this.#byConfig.get(configName) ?? [];
    const started = held.filter((h) => h.state === 'running').reverse();
    const queued = held.filter((h) => h.state === 'queued');
    return [...started, ...queued].map((run) => ({
      runName: run.job.runName,
      elementId: run.elementId,
      status:
        run.state === 'queued' ? 'Queued' : phaseOf(run.job.runName) === 'pending' ? 'Pending' : 'Running',
      enqueuedAtMs: run.job.enqueuedAtMs,
      ...(run.startedAtMs === undefined ? {} : { startedAtMs: run.startedAtMs }),
    }));
  }
}
