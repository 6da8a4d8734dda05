import {
  BatchV1Api,
  CoreV1Api,
  Watch,
  type KubeConfig,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { systemClock, type Clock } from '../../core/clock.js';
import { SlimFaasError } from '../../core/errors.js';
import type { JobRunner, JobRunSpec, JobRunState } from '../../core/job-runner.js';
import type { Logger } from '../../core/ports.js';
import { describeKubeError, httpStatusOf } from './kube-errors.js';
import { JOB_LABELS, buildJobManifest, checkRunSpec, isValidRunName } from './job-manifest.js';
import { announceable, jobRunState, sameRunState } from './job-status.js';
import { ResourceWatch, type Backoff } from './resource-watch.js';

export interface KubernetesJobRunnerOptions {
  readonly kubeConfig: KubeConfig;
  /** Where Jobs are created and watched (SlimFaas's own namespace). */
  readonly namespace: string;
  readonly logger: Logger;
  /** Stamps the `slimfaas-job-start-timestamp` label and the end of a run deleted behind our back. */
  readonly clock?: Clock;
  /** Back-off of list/watch retries. Default 200 ms doubling to 10 s. */
  readonly watchBackoff?: Backoff;
  /** `start()` rejects with `orchestrator_unavailable` when the first list takes longer. Default 30 s. */
  readonly initialSyncTimeoutMs?: number;
}

/** Names deleted through `delete()` are remembered until the watch saw them go (bounded). */
const MAX_REMEMBERED_DELETIONS = 1024;

/**
 * Runs jobs as `batch/v1` Jobs in one namespace (reference §1.7, §4.8).
 *
 * Beyond the `JobRunner` contract:
 * - `runs()` holds every Job of the namespace labelled `slimfaas-job-name` (those created by another
 *   SlimFaas replica or before a restart too), kept current by list + watch of Jobs and of their pods
 *   (relist on 410 Gone, reconnect with back-off), never by polling; a Job disappears when Kubernetes
 *   deletes it (`ttlSecondsAfterFinished`);
 * - a run created by `run()` is in `runs()` (pending) as soon as `run()` resolves;
 * - a pending or running Job deleted by someone else is announced once as `failed` (reason `deleted`)
 *   and leaves `runs()`;
 * - `run` answers 409 AlreadyExists as success when the existing Job carries the same element id;
 *   API errors become `bad_request` (the API refused the Job, 400/422) or `orchestrator_unavailable`.
 */
export class KubernetesJobRunner implements JobRunner {
  readonly #options: KubernetesJobRunnerOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #batch: BatchV1Api;
  readonly #jobs: ResourceWatch<V1Job>;
  readonly #pods: ResourceWatch<V1Pod>;
  readonly #listeners = new Set<(state: JobRunState) => void>();
  /** Jobs created by `run()` that the watch has not delivered yet. */
  readonly #created = new Map<string, V1Job>();
  /** Jobs deleted by `delete()`: whether the watch has seen them since (then their removal is final). */
  readonly #deleted = new Map<string, { seen: boolean }>();
  readonly #inFlight = new Map<string, Promise<void>>();
  #snapshot: ReadonlyMap<string, JobRunState> = new Map();
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: KubernetesJobRunnerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'kubernetes-job-runner' });
    this.#clock = options.clock ?? systemClock;
    const { kubeConfig, namespace } = options;
    this.#batch = kubeConfig.makeApiClient(BatchV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const labelSelector = JOB_LABELS.jobName;
    const common = {
      watch: new Watch(kubeConfig),
      logger: this.#logger,
      labelSelector,
      onChange: () => this.#refresh(),
      ...(options.watchBackoff === undefined ? {} : { backoff: options.watchBackoff }),
    };
    this.#jobs = new ResourceWatch<V1Job>({
      ...common,
      resource: 'jobs',
      path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
      list: () => this.#batch.listNamespacedJob({ namespace, labelSelector }),
    });
    this.#pods = new ResourceWatch<V1Pod>({
      ...common,
      resource: 'job pods',
      path: `/api/v1/namespaces/${namespace}/pods`,
      list: () => core.listNamespacedPod({ namespace, labelSelector }),
    });
  }

  /** Lists and starts watching Jobs and their pods; resolves when both are listed. Idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** Stops watching; the Jobs keep running. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([this.#jobs.close(), this.#pods.close()]).then(() => undefined);
    return this.#closing;
  }

  async run(spec: JobRunSpec): Promise<void> {
    if (this.#closing !== undefined) throw new SlimFaasError('shutting_down', 'the job runner is closed');
    checkRunSpec(spec);
    if (this.#snapshot.has(spec.runName)) return;
    let running = this.#inFlight.get(spec.runName);
    if (running === undefined) {
      running = this.#create(spec).finally(() => this.#inFlight.delete(spec.runName));
      this.#inFlight.set(spec.runName, running);
    }
    await running;
  }

  async delete(runName: string): Promise<'deleted' | 'not-found'> {
    if (!isValidRunName(runName)) return 'not-found';
    // Hidden before the call: the watch's DELETED event may arrive before the API's answer, and must not
    // read as a run deleted behind our back.
    this.#forget(runName);
    try {
      // Background: the Job goes at once and the garbage collector removes its pods. The API's default
      // for batch/v1 Jobs is to orphan them, which would leave the pods running.
      const { namespace } = this.#options;
      await this.#batch.deleteNamespacedJob({ name: runName, namespace, propagationPolicy: 'Background' });
    } catch (error) {
      if (httpStatusOf(error) === 404) return 'not-found';
      this.#deleted.delete(runName);
      this.#refresh();
      throw jobError(error, `could not delete job ${runName}`);
    }
    this.#logger.info({ job: runName }, 'deleted job');
    return 'deleted';
  }

  runs(): ReadonlyMap<string, JobRunState> {
    return this.#snapshot;
  }

  subscribe(listener: (state: JobRunState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #start(): Promise<void> {
    this.#jobs.start();
    this.#pods.start();
    const timeoutMs = this.#options.initialSyncTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    const result = await Promise.race([Promise.all([this.#jobs.synced(), this.#pods.synced()]), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      throw new SlimFaasError(
        'orchestrator_unavailable',
        `could not list jobs and pods of namespace ${this.#options.namespace} within ${timeoutMs} ms`,
      );
    }
  }

  async #create(spec: JobRunSpec): Promise<void> {
    const { namespace } = this.#options;
    const body = buildJobManifest(spec, { namespace, nowMs: this.#clock.now() });
    try {
      const created = await this.#batch.createNamespacedJob({ namespace, body });
      this.#logger.info({ job: spec.runName, elementId: spec.elementId }, 'created job');
      this.#deleted.delete(spec.runName);
      if (!this.#jobs.items().has(spec.runName)) this.#created.set(spec.runName, created);
    } catch (error) {
      if (httpStatusOf(error) !== 409) throw jobError(error, `could not create job ${spec.runName}`);
      await this.#adopt(spec);
    }
    this.#refresh();
  }

  /** 409 AlreadyExists: an earlier call created it (success), unless another element owns the name. */
  async #adopt(spec: JobRunSpec): Promise<void> {
    const { namespace } = this.#options;
    let existing: V1Job;
    try {
      existing = await this.#batch.readNamespacedJob({ name: spec.runName, namespace });
    } catch (error) {
      if (httpStatusOf(error) === 404) return; // created, then already removed (TTL, delete)
      throw jobError(error, `could not read job ${spec.runName}`);
    }
    const owner = existing.metadata?.labels?.[JOB_LABELS.elementId];
    if (owner !== spec.elementId) {
      throw new SlimFaasError(
        'bad_request',
        `job ${spec.runName} already exists for element ${owner ?? '(none)'}, not ${spec.elementId}`,
      );
    }
    if (!this.#jobs.items().has(spec.runName)) this.#created.set(spec.runName, existing);
  }

  #forget(runName: string): void {
    this.#created.delete(runName);
    this.#deleted.delete(runName);
    this.#deleted.set(runName, { seen: this.#jobs.items().has(runName) });
    for (const name of this.#deleted.keys()) {
      if (this.#deleted.size <= MAX_REMEMBERED_DELETIONS) break;
      this.#deleted.delete(name);
    }
    this.#refresh();
  }

  /** The Jobs to report: the watched ones and those just created, minus those we deleted. */
  #visibleJobs(): Map<string, V1Job> {
    const watched = this.#jobs.items();
    for (const name of this.#created.keys()) if (watched.has(name)) this.#created.delete(name);
    for (const [name, entry] of this.#deleted) {
      if (watched.has(name)) entry.seen = true;
      else if (entry.seen) this.#deleted.delete(name);
    }
    const jobs = new Map<string, V1Job>(this.#created);
    for (const [name, job] of watched) if (!this.#deleted.has(name)) jobs.set(name, job);
    return jobs;
  }

  /** Rebuilds the snapshot from the caches and announces what changed (synchronously, after the swap). */
  #refresh(): void {
    if (this.#closing !== undefined) return;
    const podsByJob = new Map<string, V1Pod[]>();
    for (const pod of this.#pods.items().values()) {
      const job = pod.metadata?.labels?.[JOB_LABELS.jobName];
      if (job !== undefined) podsByJob.set(job, [...(podsByJob.get(job) ?? []), pod]);
    }
    const ours = new Set(this.#deleted.keys());
    const previous = this.#snapshot;
    const next = new Map<string, JobRunState>();
    const changed: JobRunState[] = [];
    for (const [name, job] of this.#visibleJobs()) {
      const before = previous.get(name);
      const state = jobRunState(job, podsByJob.get(name) ?? []);
      next.set(name, before !== undefined && sameRunState(before, state) ? before : state);
      if (announceable(before, state)) changed.push(state);
    }
    for (const [name, before] of previous) {
      if (next.has(name) || ours.has(name)) continue;
      if (before.phase === 'pending' || before.phase === 'running') {
        changed.push({ ...before, phase: 'failed', reason: 'deleted', finishedAtMs: this.#clock.now() });
      }
    }
    this.#snapshot = next;
    for (const state of changed) this.#emit(state);
  }

  #emit(state: JobRunState): void {
    this.#logger.debug(
      { job: state.runName, phase: state.phase, attempts: state.attempts },
      'job run changed',
    );
    for (const listener of this.#listeners) {
      try {
        listener(state);
      } catch (error) {
        this.#logger.error({ err: error, job: state.runName }, 'job run listener threw');
      }
    }
  }
}

/** 400/422: the API refused the Job itself (e.g. an invalid resource quantity); anything else is an outage. */
function jobError(error: unknown, what: string): SlimFaasError {
  if (error instanceof SlimFaasError) return error;
  const status = httpStatusOf(error);
  const code = status === 400 || status === 422 ? 'bad_request' : 'orchestrator_unavailable';
  return new SlimFaasError(code, `${what}: ${describeKubeError(error)}`, { cause: error });
}

/** The factory `serve` calls to build the runner (composition stays in the composition root). */
export function createKubernetesJobRunner(options: KubernetesJobRunnerOptions): KubernetesJobRunner {
  return new KubernetesJobRunner(options);
}
