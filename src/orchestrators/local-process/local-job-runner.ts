import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../core/clock.js';
import { SlimFaasError } from '../../core/errors.js';
import type { JobRunner, JobRunSpec, JobRunState } from '../../core/job-runner.js';
import type { Logger } from '../../core/ports.js';
import { ProcessGroupWatchdog } from './process-group-watchdog.js';
import { ReplicaOutput } from './replica-output.js';

/** One `jobs.<name>` entry of a local manifest: what a run of that job executes. */
export interface LocalJobDefinition {
  readonly name: string;
  /** argv, no shell; a run's `Args` are appended. */
  readonly command: readonly string[];
  readonly workingDirectory: string;
  readonly environment: Readonly<Record<string, string>>;
}

export interface LocalJobRunnerOptions {
  readonly jobs: readonly LocalJobDefinition[];
  /** Run logs go to `<stateDirectory>/logs/<runName>.log`, next to the replicas' logs. */
  readonly stateDirectory: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Extra environment for every run (`SLIMFAAS_URL`); the job's own `environment` wins. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly echoOutput?: (line: string) => void;
  /** SIGTERM → SIGKILL delay when a run is deleted or SlimFaas stops. Default 5000. */
  readonly stopGraceMs?: number;
  /** Delay before retry `n` (1-based) of a failed run. Default 1 s doubling up to 30 s. */
  readonly retryDelayMs?: (retry: number) => number;
}

interface Run {
  readonly spec: JobRunSpec;
  state: JobRunState;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  deleted: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Runs jobs as local processes (SlimFaas's LocalJobManager, reference §6): the job's command with the run's
 * `Args` appended, in its own process group (registered with a watchdog, so a killed SlimFaas orphans nothing),
 * with `SLIMFAAS_JOB_NAME`, `SLIMFAAS_JOB_RUN_NAME` and `SLIMFAAS_JOB_ELEMENT_ID` set. Exit code 0 succeeds;
 * anything else is retried up to `backoffLimit` times, then the run fails. Finished runs are listed until
 * `ttlSecondsAfterFinished` passes. Resources are not enforced.
 */
export class LocalJobRunner implements JobRunner {
  readonly #o: LocalJobRunnerOptions;
  readonly #jobs: ReadonlyMap<string, LocalJobDefinition>;
  readonly #runs = new Map<string, Run>();
  readonly #listeners = new Set<(state: JobRunState) => void>();
  readonly #clock: Clock;
  #snapshot: ReadonlyMap<string, JobRunState> = new Map();
  #watchdog: ProcessGroupWatchdog | undefined;
  #logDirectory = '';
  #closing: Promise<void> | undefined;

  constructor(options: LocalJobRunnerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#jobs = new Map(options.jobs.map((job) => [job.name, job]));
  }

  start(): Promise<void> {
    this.#logDirectory = join(this.#o.stateDirectory, 'logs');
    mkdirSync(this.#logDirectory, { recursive: true });
    this.#watchdog ??= ProcessGroupWatchdog.start({
      graceMs: this.#o.stopGraceMs ?? 5000,
      logger: this.#o.logger,
    });
    return Promise.resolve();
  }

  run(spec: JobRunSpec): Promise<void> {
    if (this.#closing !== undefined)
      return Promise.reject(new SlimFaasError('shutting_down', 'SlimFaas is stopping'));
    if (this.#runs.has(spec.runName)) return Promise.resolve();
    if (!this.#jobs.has(spec.configName)) {
      return Promise.reject(new SlimFaasError('job_not_found', `no local job named "${spec.configName}"`));
    }
    const run: Run = {
      spec,
      state: {
        runName: spec.runName,
        configName: spec.configName,
        elementId: spec.elementId,
        phase: 'pending',
        attempts: 0,
        ips: [],
      },
      child: undefined,
      exited: Promise.resolve(),
      deleted: false,
      timer: undefined,
    };
    this.#runs.set(spec.runName, run);
    this.#attempt(run);
    return Promise.resolve();
  }

  async delete(runName: string): Promise<'deleted' | 'not-found'> {
    const run = this.#runs.get(runName);
    if (run === undefined) return 'not-found';
    run.deleted = true;
    clearTimeout(run.timer);
    await this.#stop(run);
    this.#runs.delete(runName);
    this.#publish();
    return 'deleted';
  }

  runs(): ReadonlyMap<string, JobRunState> {
    return this.#snapshot;
  }

  subscribe(listener: (state: JobRunState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const runs = [...this.#runs.values()];
      for (const run of runs) {
        run.deleted = true;
        clearTimeout(run.timer);
      }
      await Promise.allSettled(runs.map((run) => this.#stop(run)));
      await this.#watchdog?.close();
    })();
    return this.#closing;
  }

  #attempt(run: Run): void {
    const definition = this.#jobs.get(run.spec.configName) as LocalJobDefinition;
    const { spec } = run;
    const [file = '', ...args] = [...definition.command, ...spec.args];
    const output = new ReplicaOutput({
      prefix: spec.runName,
      logFile: join(this.#logDirectory, `${spec.runName}.log`),
      echo: this.#o.echoOutput,
    });
    const child = spawn(file, args, {
      cwd: definition.workingDirectory,
      env: {
        ...process.env,
        ...this.#o.environment,
        ...definition.environment,
        ...spec.environment,
        SLIMFAAS_JOB_NAME: spec.configName,
        SLIMFAAS_JOB_RUN_NAME: spec.runName,
        SLIMFAAS_JOB_ELEMENT_ID: spec.elementId,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    run.child = child;
    output.attach(child.stdout);
    output.attach(child.stderr);
    const attempts = run.state.attempts + 1;
    run.state = {
      ...run.state,
      phase: 'running',
      attempts,
      startedAtMs: run.state.startedAtMs ?? this.#clock.now(),
      ips: ['127.0.0.1'],
    };
    if (child.pid !== undefined) this.#watchdog?.watch(child.pid);
    run.exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
        if (done) return;
        done = true;
        if (child.pid !== undefined) {
          signalGroup(child.pid, 'SIGKILL');
          this.#watchdog?.forget(child.pid);
        }
        void output.finish().then(() => {
          resolve();
          this.#onExit(
            run,
            error !== undefined
              ? `spawn failed: ${error.message}`
              : code === 0
                ? undefined
                : code !== null
                  ? `exit code ${code}`
                  : `signal ${signal}`,
          );
        });
      };
      child.once('exit', (code, signal) => finish(code, signal));
      child.once('error', (error) => {
        if (child.pid === undefined) finish(null, null, error);
      });
    });
    this.#publish(run);
  }

  #onExit(run: Run, failure: string | undefined): void {
    run.child = undefined;
    if (run.deleted || this.#runs.get(run.spec.runName) !== run) return;
    if (failure !== undefined && run.state.attempts <= run.spec.backoffLimit) {
      const delayMs = (this.#o.retryDelayMs ?? defaultRetryDelayMs)(run.state.attempts);
      this.#o.logger.warn(
        { runName: run.spec.runName, attempt: run.state.attempts, reason: failure, delayMs },
        'job run failed; retrying',
      );
      run.timer = setTimeout(() => this.#attempt(run), delayMs);
      return;
    }
    run.state = {
      ...run.state,
      phase: failure === undefined ? 'succeeded' : 'failed',
      finishedAtMs: this.#clock.now(),
      ...(failure === undefined ? {} : { reason: failure }),
    };
    this.#publish(run);
    run.timer = setTimeout(() => {
      if (this.#runs.get(run.spec.runName) === run) {
        this.#runs.delete(run.spec.runName);
        this.#publish();
      }
    }, run.spec.ttlSecondsAfterFinished * 1000);
    run.timer.unref();
  }

  async #stop(run: Run): Promise<void> {
    const pid = run.child?.pid;
    if (pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    const kill = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.#o.stopGraceMs ?? 5000);
    await run.exited;
    clearTimeout(kill);
  }

  #publish(changed?: Run): void {
    this.#snapshot = new Map([...this.#runs].map(([name, run]) => [name, run.state]));
    if (changed === undefined) return;
    for (const listener of this.#listeners) {
      try {
        listener(changed.state);
      } catch (error) {
        this.#o.logger.error({ err: error }, 'job run listener threw');
      }
    }
  }
}

function defaultRetryDelayMs(retry: number): number {
  return Math.min(30_000, 1000 * 2 ** (retry - 1));
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
