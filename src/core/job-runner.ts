import type { JobEnvironmentVariable } from './job-spec.js';

/**
 * What one job run needs, resolved from the job's configuration and the request's overrides
 * (reference §1.7, §4.8). Everything here was already validated against the configuration.
 */
export interface JobRunSpec {
  /** The job configuration's name (`/job/{name}`). */
  readonly configName: string;
  /** Unique run name: `<configName>-slimfaas-job-<random>` (a Kubernetes Job name, a local run name). */
  readonly runName: string;
  /** The queue element id returned to the caller as `Id`. */
  readonly elementId: string;
  /** Container image (Kubernetes); ignored by the local runner, which runs the configured command. */
  readonly image: string;
  /** Appended to the configured command (local) or used as the container args (Kubernetes). */
  readonly args: readonly string[];
  /** Merged over the configuration's environment. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Variables whose value comes from a reference (`secretRef`, `configMapRef`, `fieldRef`, `resourceFieldRef`):
   * Kubernetes only; absent when there are none. Optional, so runners written before it still compile.
   */
  readonly environmentRefs?: readonly JobEnvironmentVariable[];
  /** Kubernetes resource requests/limits (`{requests: {cpu, memory}, limits: {...}}`); not enforced locally. */
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
  };
  /** Retries after a failed attempt (Kubernetes `backoffLimit`). */
  readonly backoffLimit: number;
  readonly ttlSecondsAfterFinished: number;
  readonly restartPolicy: 'Never' | 'OnFailure';
  /** When the request was accepted (label `slimfaas-job-start-time` style timestamps). */
  readonly createdAtMs: number;
}

export type JobRunPhase = 'pending' | 'running' | 'succeeded' | 'failed';

export interface JobRunState {
  readonly runName: string;
  readonly configName: string;
  readonly elementId: string;
  readonly phase: JobRunPhase;
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
  /** Attempts made so far (1 + retries). */
  readonly attempts: number;
  /** Short reason for `failed` (exit code, Kubernetes condition). */
  readonly reason?: string;
  /** Pod IPs (Kubernetes) or `127.0.0.1` (local) of the run's attempts, for internal-caller checks. */
  readonly ips: readonly string[];
}

/**
 * Where job runs execute: Kubernetes `batch/v1` Jobs or local processes.
 *
 * Contract:
 * - `run` is idempotent by `runName`: a second call for a known run changes nothing. It resolves once the run
 *   was created (Job created / process spawned), not when it finishes. Retries up to `backoffLimit` happen
 *   inside the runner.
 * - `runs()` is a cheap synchronous snapshot of the runs the runner knows (including finished ones until their
 *   TTL expires); it never performs I/O.
 * - Every phase change is announced to `subscribe` listeners synchronously after `runs()` reflects it.
 * - `delete` stops a running run (kills the process group / deletes the Job with background propagation) and
 *   forgets it; unknown name → `'not-found'`.
 * - `close()` stops watching (Kubernetes) or kills every run it started (local); idempotent.
 */
export interface JobRunner {
  start(): Promise<void>;
  close(): Promise<void>;
  run(spec: JobRunSpec): Promise<void>;
  delete(runName: string): Promise<'deleted' | 'not-found'>;
  runs(): ReadonlyMap<string, JobRunState>;
  subscribe(listener: (state: JobRunState) => void): () => void;
}
