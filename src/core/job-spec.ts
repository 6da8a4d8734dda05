import type { Visibility } from './function-spec.js';

/**
 * Jobs (reference §1.7, §4.8): a job configuration is a template; `POST /job/{name}` queues a run of it with
 * the request's overrides; the leader starts runs in FIFO order, at most `numberParallelJob` at a time.
 */
export type RestartPolicy = 'Never' | 'OnFailure';

export interface JobResources {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

/** One `Environments` entry: a plain value, or (Kubernetes only) a reference resolved by the kubelet. */
export interface JobEnvironmentVariable {
  readonly name: string;
  readonly value?: string;
  readonly secretRef?: { readonly name: string; readonly key: string };
  readonly configMapRef?: { readonly name: string; readonly key: string };
  readonly fieldRef?: { readonly fieldPath: string };
  readonly resourceFieldRef?: {
    readonly containerName?: string;
    readonly resource: string;
    readonly divisor?: string;
  };
}

/** SlimFaas's `CreateJob` body, parsed (every field optional). */
export interface JobRequest {
  readonly args?: readonly string[];
  readonly image?: string;
  readonly environments?: readonly JobEnvironmentVariable[];
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
  };
  readonly dependsOn?: readonly string[];
  readonly backoffLimit?: number;
  readonly ttlSecondsAfterFinished?: number;
  readonly restartPolicy?: RestartPolicy;
}

/** A cron schedule of a job (`ScheduleCreateJob`): a 5-field expression (UTC) and the request it submits. */
export interface JobSchedule {
  readonly id: string;
  readonly schedule: string;
  readonly request: JobRequest;
}

/** A job configuration (SlimFaas's `SlimfaasJob`), validated, defaults applied. */
export interface JobConfiguration {
  /** Lower-case, `[a-z0-9_-]{3,30}`. */
  readonly name: string;
  /** Container image (Kubernetes); empty for local jobs. */
  readonly image: string;
  /** Patterns (`*` = any characters) a request's `Image` must match; the configured image is always allowed. */
  readonly imagesWhitelist: readonly string[];
  /** The defaults and the ceilings of a request's `Resources`. */
  readonly resources: JobResources;
  readonly dependsOn: readonly string[];
  readonly environments: readonly JobEnvironmentVariable[];
  /** Retries after a failed attempt; also the ceiling of a request's `BackoffLimit`. */
  readonly backoffLimit: number;
  readonly visibility: Visibility;
  readonly numberParallelJob: number;
  readonly ttlSecondsAfterFinished: number;
  readonly restartPolicy: RestartPolicy;
  /** Static schedules from the configuration (not the ones created through `/job-schedules`). */
  readonly schedules: readonly JobSchedule[];
}

export const JOB_DEFAULTS = Object.freeze({
  backoffLimit: 1,
  visibility: 'Private',
  numberParallelJob: 1,
  ttlSecondsAfterFinished: 60,
  restartPolicy: 'Never',
});

/** What a queue element of a job holds: the run, fully resolved when it was accepted. */
export interface QueuedJob {
  readonly configName: string;
  readonly runName: string;
  readonly image: string;
  readonly args: readonly string[];
  readonly environments: readonly JobEnvironmentVariable[];
  readonly resources: JobResources;
  readonly dependsOn: readonly string[];
  readonly backoffLimit: number;
  readonly ttlSecondsAfterFinished: number;
  readonly restartPolicy: RestartPolicy;
  readonly enqueuedAtMs: number;
}

/** SlimFaas's rule for the name in `/job/{name}` and `/job-schedules/{name}` (after lower-casing). */
export const JOB_NAME_PATTERN = /^[a-z0-9_-]{3,30}$/;
export const JOB_NAME_RULE = 'a job name must match [a-z0-9_-] and be between 3 and 30 characters';

/** The store queue of a job configuration: `job_` cannot start a function name (DNS labels have no `_`). */
export function jobQueueName(configName: string): string {
  return `job_${configName}`;
}

/** `<config>-slimfaas-job-<suffix>`: a valid Kubernetes Job name (`_` becomes `-`). */
export function jobRunName(configName: string, suffix: string): string {
  return `${configName.replace(/_/g, '-')}-slimfaas-job-${suffix}`;
}

/** A new run name with 8 random base-36 characters, as SlimFaas names its Jobs. */
export function newJobRunName(configName: string): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8));
  const suffix = Array.from(bytes, (b) => (b % 36).toString(36)).join('');
  return jobRunName(configName, suffix);
}

/** `*` matches any characters; everything else literally (SlimFaas's `ConvertPatternToRegex`). */
export function imageMatches(pattern: string, image: string): boolean {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`).test(image);
}

export function imageAllowed(config: JobConfiguration, image: string): boolean {
  return image === config.image || config.imagesWhitelist.some((pattern) => imageMatches(pattern, image));
}

const QUANTITY_SUFFIXES: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** A Kubernetes quantity (`100m`, `0.5`, `512Mi`, `1G`) as a number, or undefined when malformed. */
export function parseQuantity(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?|\.\d+)([a-zA-Z]*)$/.exec(text.trim());
  if (match === null) return undefined;
  const factor = QUANTITY_SUFFIXES[match[2] as string];
  return factor === undefined ? undefined : Number(match[1]) * factor;
}
