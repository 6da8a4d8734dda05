import { randomUUID } from 'node:crypto';
import type { ActivityTracker } from '../core/activity.js';
import type { Clock } from '../core/clock.js';
import type { RetryPolicy } from '../core/function-spec.js';
import type { JobBoard, JobRunView } from '../core/job-ports.js';
import { jobRunSpec } from '../core/job-request.js';
import type { JobRunner, JobRunState } from '../core/job-runner.js';
import { jobQueueName, type JobConfiguration, type QueuedJob } from '../core/job-spec.js';
import type { Logger, Orchestrator, Waker } from '../core/ports.js';
import type { StateStore } from '../core/state-store.js';
import { PassLoop } from './async-pass-loop.js';
import { HeldRuns, type HeldRun } from './job-held-runs.js';

/**
 * The store counts each lease of an element as an attempt and stops handing it out after `maxAttempts`. A job
 * element is leased once when adopted, and once more after each SlimFaas restart (its lease is released or
 * expires): 100 allows that many restarts while it waits. Retries of a failed run are the runner's
 * (`backoffLimit`), not the store's.
 */
const JOB_POLICY: RetryPolicy = Object.freeze({
  httpTimeoutSeconds: 0,
  timeoutRetriesSeconds: Object.freeze(new Array<number>(100).fill(0)),
  httpStatusRetries: Object.freeze([]),
});

export interface JobWorkerOptions {
  readonly store: StateStore;
  readonly runner: JobRunner;
  readonly orchestrator: Pick<Orchestrator, 'functions' | 'subscribe'>;
  /** Wakes the `DependsOn` functions of the next run. */
  readonly waker: Waker;
  readonly activity: ActivityTracker;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly configurations: readonly JobConfiguration[];
  /** Only the leader starts jobs; with a single SlimFaas process this is always true (the default). */
  readonly isLeader?: () => boolean;
  /** Lease of every held element, renewed every third of it. Default 30 000. */
  readonly leaseMs?: number;
  /** Period of the safety pass that catches what no event announced. Default 1000; 0 disables it. */
  readonly safetyIntervalMs?: number;
  /** Elements held (listed, cancellable) per job; more wait in the store unlisted. Default 1000. */
  readonly maxHeldPerJob?: number;
}

/**
 * Starts job runs (SlimFaas's SlimJobsWorker, reference §4.8), leader only.
 *
 * Every job element in the store is leased ("held") as soon as this worker sees it, queued or running, and its
 * lease is renewed while held: the held list is what `GET /job/{name}` shows and what `DELETE` cancels (by
 * completing the element), and the store stays the single durable truth. Per configuration, the oldest held
 * element starts when fewer than `numberParallelJob` runs are running and its `DependsOn` functions have a
 * ready replica (they are woken otherwise; FIFO: nothing behind it starts first). A finished run (succeeded or
 * failed after the runner's retries) completes its element. On `close()` every held element is released at its
 * FIFO position, so a restarted SlimFaas runs it; after a crash its lease expires (`leaseMs`) and the same happens.
 */
export class JobWorker implements JobBoard {
  readonly #o: JobWorkerOptions;
  readonly #owner = `job-worker-${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly #leaseMs: number;
  readonly #held = new HeldRuns();
  readonly #passes = new PassLoop(() => this.#pass());
  readonly #unsubscribes: (() => void)[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #passFailing = false;
  #closing: Promise<void> | undefined;

  constructor(options: JobWorkerOptions) {
    this.#o = options;
    this.#leaseMs = options.leaseMs ?? 30_000;
  }

  start(): void {
    if (this.#closing !== undefined || this.#unsubscribes.length > 0) return;
    const queues = new Map(this.#o.configurations.map((c) => [jobQueueName(c.name), c.name]));
    this.#unsubscribes.push(
      this.#o.store.onEnqueued((queue) => {
        if (queues.has(queue)) this.#requestPass();
      }),
      this.#o.orchestrator.subscribe(() => this.#requestPass()),
      this.#o.runner.subscribe((state) => this.#onRunState(state)),
    );
    const safetyMs = this.#o.safetyIntervalMs ?? 1000;
    if (safetyMs > 0) this.#timers.push(setInterval(() => this.#requestPass(), safetyMs));
    this.#timers.push(
      setInterval(() => void this.#renewLeases(), Math.max(1, Math.floor(this.#leaseMs / 3))),
    );
    for (const timer of this.#timers) timer.unref();
    this.#requestPass();
  }

  /** Runs a pass and resolves once a pass that started after this call has finished (tests, `submit`). */
  runPass(): Promise<void> {
    return this.#passes.request();
  }

  async submit(job: QueuedJob, elementId: string): Promise<'enqueued' | 'duplicate'> {
    const payload = new TextEncoder().encode(JSON.stringify(job));
    const element = { id: elementId, payload, enqueuedAtMs: job.enqueuedAtMs, policy: JOB_POLICY };
    const result = await this.#o.store.enqueue(jobQueueName(job.configName), element);
    await this.runPass();
    return result;
  }

  runs(configName: string): readonly JobRunView[] {
    return this.#held.views(configName, (runName) => this.#o.runner.runs().get(runName)?.phase);
  }

  async cancel(configName: string, elementId: string): Promise<'cancelled' | 'deleted' | 'not-found'> {
    let run = this.#held.find(configName, elementId);
    if (run === undefined) {
      await this.runPass();
      run = this.#held.find(configName, elementId);
    }
    if (run === undefined) return 'not-found';
    const wasRunning = run.state === 'running';
    this.#held.forget(run);
    if (wasRunning) await this.#o.runner.delete(run.job.runName);
    await this.#o.store.complete(jobQueueName(configName), elementId, run.leaseToken);
    this.#o.logger.info(
      { job: configName, id: elementId, runName: run.job.runName },
      wasRunning ? 'job run deleted' : 'queued job cancelled',
    );
    this.#requestPass();
    return wasRunning ? 'deleted' : 'cancelled';
  }

  /** Stops passes and releases every held element (a restarted SlimFaas picks them up at once). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    this.#passes.stop();
    await this.#passes.running?.catch(() => undefined);
    const nowMs = this.#o.clock.now();
    const all = this.#held.takeAll();
    await Promise.allSettled(
      all.map((run) =>
        this.#o.store.retryLater(jobQueueName(run.configName), run.elementId, run.leaseToken, {
          endedAtMs: nowMs,
          lastError: 'released at shutdown',
          notBeforeMs: nowMs,
        }),
      ),
    );
  }

  #requestPass(): void {
    if (this.#closing === undefined) void this.#passes.request();
  }

  async #pass(): Promise<void> {
    if (this.#o.isLeader !== undefined && !this.#o.isLeader()) return;
    try {
      for (const config of this.#o.configurations) {
        if (this.#closing !== undefined) return;
        await this.#adopt(config);
        this.#startRuns(config);
      }
      this.#passFailing = false;
    } catch (error) {
      if (!this.#passFailing) this.#o.logger.warn({ err: error }, 'job pass failed');
      this.#passFailing = true;
    }
  }

  /** Leases the elements of `config` this worker does not hold yet (new submissions, released ones). */
  async #adopt(config: JobConfiguration): Promise<void> {
    const held = this.#held.list(config.name);
    const room = (this.#o.maxHeldPerJob ?? 1000) - held.length;
    if (room <= 0) return;
    const queue = jobQueueName(config.name);
    const nowMs = this.#o.clock.now();
    const leased = await this.#o.store.lease(queue, {
      max: room,
      owner: this.#owner,
      leaseMs: this.#leaseMs,
      nowMs,
    });
    for (const element of leased.elements) {
      let job: QueuedJob;
      try {
        job = JSON.parse(new TextDecoder().decode(element.payload)) as QueuedJob;
      } catch {
        await this.#o.store.deadLetter(queue, element.id, element.leaseToken, {
          endedAtMs: nowMs,
          lastError: 'undecodable-job',
        });
        continue;
      }
      const run: HeldRun = {
        configName: config.name,
        elementId: element.id,
        leaseToken: element.leaseToken,
        job,
        state: 'queued',
      };
      this.#held.add(run);
    }
  }

  #startRuns(config: JobConfiguration): void {
    const held = this.#held.list(config.name);
    for (const run of held) if (run.state === 'running') this.#keepAwake(run.job.dependsOn);
    let running = held.filter((h) => h.state === 'running').length;
    for (const run of held) {
      if (running >= config.numberParallelJob) return;
      if (run.state !== 'queued') continue;
      // FIFO: a head waiting for its dependencies holds back the runs behind it.
      if (!this.#dependenciesReady(run.job.dependsOn)) return;
      running++;
      this.#start(run);
    }
  }

  /** SlimFaas counts a dependency that is not a function as ready (reference §4.8, quirk 8). */
  #dependenciesReady(dependsOn: readonly string[]): boolean {
    const functions = this.#o.orchestrator.functions();
    let ready = true;
    for (const name of dependsOn) {
      const fn = functions.get(name);
      if (fn === undefined || fn.replicas.some((r) => r.ready)) continue;
      this.#o.waker.wake(name);
      ready = false;
    }
    return ready;
  }

  #keepAwake(dependsOn: readonly string[]): void {
    for (const name of dependsOn) this.#o.activity.touch(name);
  }

  #start(run: HeldRun): void {
    run.state = 'running';
    run.startedAtMs = this.#o.clock.now();
    const { logger, runner } = this.#o;
    logger.info({ job: run.configName, id: run.elementId, runName: run.job.runName }, 'job run starting');
    runner.run(jobRunSpec(run.job, run.elementId)).then(
      () => {
        const state = runner.runs().get(run.job.runName);
        if (state !== undefined) this.#onRunState(state);
      },
      (error: unknown) => {
        // Not started: it stays first in line and is tried again at the next pass.
        logger.error(
          { err: error, job: run.configName, runName: run.job.runName },
          'job run could not be started',
        );
        if (this.#held.byRunName(run.job.runName) === run) {
          run.state = 'queued';
          delete run.startedAtMs;
        }
      },
    );
  }

  #onRunState(state: JobRunState): void {
    const run = this.#held.byRunName(state.runName);
    if (run === undefined || (state.phase !== 'succeeded' && state.phase !== 'failed')) return;
    this.#held.forget(run);
    this.#o.logger.info(
      {
        job: run.configName,
        id: run.elementId,
        runName: state.runName,
        phase: state.phase,
        attempts: state.attempts,
        reason: state.reason,
      },
      `job run ${state.phase}`,
    );
    this.#o.store.complete(jobQueueName(run.configName), run.elementId, run.leaseToken).then(
      () => this.#requestPass(),
      (error: unknown) =>
        this.#o.logger.error(
          { err: error, runName: state.runName },
          'could not complete a finished job element',
        ),
    );
  }

  async #renewLeases(): Promise<void> {
    const nowMs = this.#o.clock.now();
    for (const run of this.#held.all()) {
      const queue = jobQueueName(run.configName);
      const result = await this.#o.store
        .extendLease(queue, run.elementId, run.leaseToken, { leaseMs: this.#leaseMs, nowMs })
        .catch(() => ({ kind: 'unavailable' as const }));
      if (result.kind === 'lease-lost' || result.kind === 'not-found') {
        this.#o.logger.warn(
          { job: run.configName, id: run.elementId },
          'lost the lease of a job element; another worker holds it',
        );
        this.#held.forget(run);
      }
    }
  }
}
