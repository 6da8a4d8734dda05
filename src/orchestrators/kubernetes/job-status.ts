import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { JobRunPhase, JobRunState } from '../../core/job-runner.js';
import { JOB_LABELS, configNameOf } from './job-manifest.js';

/** A time from a listed object (the client deserialises it to a Date) or a watch event (an RFC 3339 string). */
function toMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  readonly lastTransitionTime?: unknown;
}

/**
 * The terminal condition of a Job, if any. Kubernetes ≥ 1.31 first adds `SuccessCriteriaMet` /
 * `FailureTarget` and, once the pods are gone, `Complete` / `Failed`; either one decides the outcome.
 */
function terminal(
  conditions: readonly Condition[],
): { phase: JobRunPhase; condition: Condition } | undefined {
  const isTrue = (type: string): Condition | undefined =>
    conditions.find((c) => c.type === type && c.status === 'True');
  const failed = isTrue('Failed') ?? isTrue('FailureTarget');
  if (failed !== undefined) return { phase: 'failed', condition: failed };
  const succeeded = isTrue('Complete') ?? isTrue('SuccessCriteriaMet');
  if (succeeded !== undefined) return { phase: 'succeeded', condition: succeeded };
  return undefined;
}

/**
 * The IPs a job's pods use now. A pod that finished (Succeeded/Failed) released its IP, which the
 * cluster may give to another pod: it no longer makes its caller internal.
 */
export function liveIps(pods: readonly V1Pod[]): string[] {
  const ips = new Set<string>();
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    if (pod.status?.podIP) ips.add(pod.status.podIP);
    for (const { ip } of pod.status?.podIPs ?? []) if (ip) ips.add(ip);
  }
  return [...ips].sort();
}

/**
 * A run's state read from its Job and pods:
 * - a `Failed`/`FailureTarget` condition → failed (reason from the condition, e.g. BackoffLimitExceeded);
 *   `Complete`/`SuccessCriteriaMet` → succeeded;
 * - otherwise running while a pod is active or an attempt already failed (a retry is on its way),
 *   pending before the first pod exists. SlimFaas reads `failed > 0` as Failed even while retries remain.
 */
export function jobRunState(job: V1Job, pods: readonly V1Pod[]): JobRunState {
  const runName = job.metadata?.name ?? '';
  const status = job.status ?? {};
  const active = status.active ?? 0;
  const failedPods = status.failed ?? 0;
  const attempts = Math.max(active + (status.succeeded ?? 0) + failedPods, pods.length);
  const outcome = terminal(status.conditions ?? []);
  const phase: JobRunPhase = outcome?.phase ?? (active > 0 || failedPods > 0 ? 'running' : 'pending');
  const startedAtMs = toMs(status.startTime);
  const finishedAtMs =
    outcome === undefined
      ? undefined
      : (toMs(status.completionTime) ?? toMs(outcome.condition.lastTransitionTime));
  const reason =
    outcome?.phase === 'failed'
      ? [outcome.condition.reason, outcome.condition.message].filter(Boolean).join(': ') || 'Failed'
      : undefined;
  return {
    runName,
    configName: configNameOf(runName),
    elementId: job.metadata?.labels?.[JOB_LABELS.elementId] ?? '',
    phase,
    attempts,
    ips: liveIps(pods),
    ...(startedAtMs === undefined ? {} : { startedAtMs }),
    ...(finishedAtMs === undefined ? {} : { finishedAtMs }),
    ...(reason === undefined ? {} : { reason }),
  };
}

/** Whether a listener must hear about the change from `previous` to `next`. */
export function announceable(previous: JobRunState | undefined, next: JobRunState): boolean {
  return (
    previous === undefined ||
    previous.phase !== next.phase ||
    previous.attempts !== next.attempts ||
    previous.reason !== next.reason
  );
}

/** The same state when nothing a caller can see changed (keeps `runs()` entries stable between events). */
export function sameRunState(a: JobRunState, b: JobRunState): boolean {
  return (
    !announceable(a, b) &&
    a.elementId === b.elementId &&
    a.startedAtMs === b.startedAtMs &&
    a.finishedAtMs === b.finishedAtMs &&
    a.ips.join(',') === b.ips.join(',')
  );
}
