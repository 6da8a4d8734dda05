import type { JobRunner, JobRunSpec, JobRunState } from '../../src/core/job-runner.js';

/** The JobRunner port in memory: runs start at once and end when the test says so. */
export class ScriptedRunner implements JobRunner {
  readonly started: JobRunSpec[] = [];
  readonly deleted: string[] = [];
  #runs = new Map<string, JobRunState>();
  readonly #listeners = new Set<(state: JobRunState) => void>();
  start = () => Promise.resolve();
  close = () => Promise.resolve();
  run(spec: JobRunSpec): Promise<void> {
    if (this.#runs.has(spec.runName)) return Promise.resolve();
    this.started.push(spec);
    this.#set({
      runName: spec.runName,
      configName: spec.configName,
      elementId: spec.elementId,
      phase: 'running',
      attempts: 1,
      ips: [],
    });
    return Promise.resolve();
  }
  finish(runName: string, phase: 'succeeded' | 'failed'): void {
    const state = this.#runs.get(runName);
    if (state === undefined) throw new Error(`unknown run ${runName}`);
    this.#set({ ...state, phase });
  }
  delete(runName: string): Promise<'deleted' | 'not-found'> {
    if (!this.#runs.delete(runName)) return Promise.resolve('not-found');
    this.deleted.push(runName);
    this.#runs = new Map(this.#runs);
    return Promise.resolve('deleted');
  }
  runs(): ReadonlyMap<string, JobRunState> {
    return this.#runs;
  }
  subscribe(listener: (state: JobRunState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  #set(state: JobRunState): void {
    this.#runs = new Map(this.#runs).set(state.runName, state);
    for (const listener of this.#listeners) listener(state);
  }
}
