import {
  containerEnv,
  finishedJobPod,
  jobPodObject,
  runningJobPod,
  terminalConditions,
} from './fake-kube-job-pods.js';
import type { FakeKind, FakeKubeStore, KubeObject } from './fake-kube-store.js';

/** Timing of the simulated Job controller and kubelet (all in milliseconds). */
export interface JobControllerBehaviour {
  /** How long an attempt's container runs before it exits. Default 50. */
  readonly runMs?: number;
  /** Between a pod being created (Pending, with an IP) and its container running. Default 10. */
  readonly startDelayMs?: number;
  /** Between a failed attempt and the next pod (Kubernetes: 10 s doubling). Default 10. */
  readonly retryDelayMs?: number;
  /** How long one second of `ttlSecondsAfterFinished` lasts. Default 1000. */
  readonly ttlSecondMs?: number;
}

/**
 * Per Job, a test decides the outcome through its first container's environment:
 * - `FAKE_JOB_EXIT_CODES`: exit code of each attempt, comma-separated, the last one repeating
 *   (`1,0` fails once then succeeds; default `0`);
 * - `FAKE_JOB_RUN_MS`: overrides `runMs` for this Job; `never` keeps it running until deleted.
 */
export const FAKE_JOB_ENV = { exitCodes: 'FAKE_JOB_EXIT_CODES', runMs: 'FAKE_JOB_RUN_MS' } as const;

/**
 * The Job controller of the fake cluster, as the real one behaves for a one-completion Job:
 * a new Job gets a pod (template labels plus `job-name`, `batch.kubernetes.io/job-name`,
 * `controller-uid`, an ownerReference, a unique IP in 127.0.1.0/24 and up); the Job's status follows
 * (`startTime`, `active`, `ready`, `succeeded`, `failed`); a failed attempt is retried with a new pod
 * until `failed > backoffLimit`, then conditions `FailureTarget` and `Failed` (BackoffLimitExceeded);
 * success sets `SuccessCriteriaMet` and `Complete` and `completionTime`. After
 * `ttlSecondsAfterFinished` the Job is deleted with its pods. Deleting a Job through the API removes its
 * pods for `propagationPolicy` Background or Foreground, and orphans them otherwise (the API's default
 * for batch/v1 Jobs). `restartPolicy: OnFailure` is simulated like `Never` (a new pod per attempt).
 */
export class FakeJobController {
  readonly #store: FakeKubeStore;
  readonly #namespace: string;
  readonly #behaviour: Required<JobControllerBehaviour>;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #unsubscribe: () => void;
  #pods = 0;
  #closed = false;

  constructor(store: FakeKubeStore, namespace: string, behaviour: JobControllerBehaviour = {}) {
    this.#store = store;
    this.#namespace = namespace;
    this.#behaviour = { runMs: 50, startDelayMs: 10, retryDelayMs: 10, ttlSecondMs: 1000, ...behaviour };
    this.#unsubscribe = store.subscribe((kind: FakeKind, event) => {
      const { name, uid = '' } = event.object.metadata;
      // Later, not inside the store's notification: watchers must see the ADDED before any status change.
      if (kind === 'jobs' && event.type === 'ADDED') this.#later(0, () => this.#attempt(name, uid, 1));
    });
  }

  /** The garbage collector's part of deleting `job` with `propagationPolicy` (see the class comment). */
  collect(job: KubeObject, propagationPolicy: string | undefined): void {
    if (propagationPolicy !== 'Background' && propagationPolicy !== 'Foreground') return;
    for (const pod of this.#store.list('pods')) {
      if (pod.metadata.ownerReferences?.some((o) => o.kind === 'Job' && o.uid === job.metadata.uid)) {
        this.#store.delete('pods', pod.metadata.name);
      }
    }
  }

  /**
   * The container of the Job's current attempt exits with `exitCode` now (as `FAKE_JOB_EXIT_CODES` would
   * decide later), for a test that must control when. False when no attempt is running.
   */
  exit(jobName: string, exitCode: number): boolean {
    const job = this.#store.get('jobs', jobName);
    const uid = job?.metadata.uid ?? '';
    const pods = this.#store
      .list('pods')
      .filter((p) => p.metadata.ownerReferences?.some((o) => o.kind === 'Job' && o.uid === uid));
    const live = pods.find((p) => p.status?.['phase'] === 'Pending' || p.status?.['phase'] === 'Running');
    if (job === undefined || live === undefined) return false;
    this.#finish({ name: jobName, uid, podName: live.metadata.name, attempt: pods.length, exitCode });
    return true;
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #later(ms: number, action: () => void): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) action();
    }, ms);
    this.#timers.add(timer);
  }

  /** The Job if it still exists as the same object (not deleted and re-created meanwhile). */
  #current(name: string, uid: string): KubeObject | undefined {
    const job = this.#store.get('jobs', name);
    return job?.metadata.uid === uid ? job : undefined;
  }

  #setStatus(job: KubeObject, patch: Record<string, unknown>): void {
    this.#store.put('jobs', { ...job, status: { ...job.status, ...patch } });
  }

  #attempt(name: string, uid: string, attempt: number): void {
    const job = this.#current(name, uid);
    if (job === undefined) return;
    const n = this.#pods++;
    const ip = `127.0.${1 + Math.floor(n / 254)}.${1 + (n % 254)}`;
    const podName = `${name}-${Math.random().toString(36).slice(2, 7).padEnd(5, '0')}`;
    this.#store.put('pods', jobPodObject({ job, name: podName, namespace: this.#namespace, ip }));
    this.#setStatus(job, { startTime: job.status?.['startTime'] ?? now(), active: 1, ready: 0 });
    const { startDelayMs } = this.#behaviour;
    this.#later(startDelayMs, () => {
      const pod = this.#store.get('pods', podName);
      const current = this.#current(name, uid);
      if (pod === undefined || current === undefined) return;
      this.#store.put('pods', runningJobPod(pod, now()));
      this.#setStatus(current, { ready: 1 });
    });
    const runMs = containerEnv(job, FAKE_JOB_ENV.runMs) ?? String(this.#behaviour.runMs);
    if (runMs === 'never') return;
    this.#later(startDelayMs + Number(runMs), () => this.#finish({ name, uid, podName, attempt }));
  }

  #finish(run: { name: string; uid: string; podName: string; attempt: number; exitCode?: number }): void {
    const job = this.#current(run.name, run.uid);
    const pod = this.#store.get('pods', run.podName);
    if (job === undefined || pod === undefined) return;
    if (pod.status?.['phase'] === 'Succeeded' || pod.status?.['phase'] === 'Failed') return;
    const exitCode = run.exitCode ?? exitCodeOf(job, run.attempt);
    const at = now();
    this.#store.put('pods', finishedJobPod(pod, exitCode, at));
    const status = job.status ?? {};
    const succeeded = Number(status['succeeded'] ?? 0) + (exitCode === 0 ? 1 : 0);
    const failed = Number(status['failed'] ?? 0) + (exitCode === 0 ? 0 : 1);
    const counts = {
      active: 0,
      ready: 0,
      ...(succeeded > 0 ? { succeeded } : {}),
      ...(failed > 0 ? { failed } : {}),
    };
    const backoffLimit = Number(job.spec?.['backoffLimit'] ?? 6);
    if (exitCode !== 0 && failed <= backoffLimit) {
      this.#setStatus(job, counts);
      this.#later(this.#behaviour.retryDelayMs, () => this.#attempt(run.name, run.uid, run.attempt + 1));
      return;
    }
    const outcome = exitCode === 0 ? 'succeeded' : 'failed';
    this.#setStatus(job, {
      ...counts,
      conditions: terminalConditions(outcome, at),
      ...(outcome === 'succeeded' ? { completionTime: at } : {}),
    });
    this.#expireLater(run.name, run.uid, job);
  }

  #expireLater(name: string, uid: string, job: KubeObject): void {
    const ttl = job.spec?.['ttlSecondsAfterFinished'];
    if (typeof ttl !== 'number') return;
    this.#later(ttl * this.#behaviour.ttlSecondMs, () => {
      const current = this.#current(name, uid);
      if (current === undefined) return;
      this.#store.delete('jobs', name);
      this.collect(current, 'Background');
    });
  }
}

function exitCodeOf(job: KubeObject, attempt: number): number {
  const codes = (containerEnv(job, FAKE_JOB_ENV.exitCodes) ?? '0').split(',').map((c) => Number(c.trim()));
  const code = codes[Math.min(attempt, codes.length) - 1];
  return code === undefined || Number.isNaN(code) ? 0 : code;
}

function now(): string {
  return new Date().toISOString();
}
