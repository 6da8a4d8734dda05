import type { KubeObject } from './fake-kube-store.js';

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: { name?: string; env?: { name: string; value?: string }[] }[] } & Record<
    string,
    unknown
  >;
}

export function templateOf(job: KubeObject): PodTemplate {
  return job.spec?.['template'] ?? {};
}

/** A variable of the job's first container, as the test put it there. */
export function containerEnv(job: KubeObject, name: string): string | undefined {
  return templateOf(job).spec?.containers?.[0]?.env?.find((e) => e.name === name)?.value;
}

/**
 * A pod as the Job controller creates it: the template's labels plus the controller's own
 * (`batch.kubernetes.io/job-name`, `job-name`, `controller-uid`), an ownerReference to the Job, and a
 * Pending status with its IP already assigned.
 */
export function jobPodObject(options: {
  job: KubeObject;
  name: string;
  namespace: string;
  ip: string;
}): KubeObject {
  const { job, name, namespace, ip } = options;
  const template = templateOf(job);
  const uid = job.metadata.uid ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: {
        ...template.metadata?.labels,
        'batch.kubernetes.io/controller-uid': uid,
        'batch.kubernetes.io/job-name': job.metadata.name,
        'controller-uid': uid,
        'job-name': job.metadata.name,
      },
      annotations: { ...template.metadata?.annotations },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid, controller: true },
      ],
    },
    spec: { ...template.spec },
    status: {
      phase: 'Pending',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: '127.0.0.1',
      conditions: [{ type: 'PodScheduled', status: 'True' }],
    },
  };
}

function containerName(pod: KubeObject): string {
  const containers = (pod.spec?.['containers'] ?? []) as { name?: string }[];
  return containers[0]?.name ?? 'job';
}

/** The pod once its container started. */
export function runningJobPod(pod: KubeObject, nowIso: string): KubeObject {
  return {
    ...pod,
    status: {
      ...pod.status,
      phase: 'Running',
      startTime: nowIso,
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Initialized', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      containerStatuses: [
        {
          name: containerName(pod),
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: nowIso } },
        },
      ],
    },
  };
}

/** The pod after its container exited with `exitCode`. */
export function finishedJobPod(pod: KubeObject, exitCode: number, nowIso: string): KubeObject {
  const terminated = {
    exitCode,
    reason: exitCode === 0 ? 'Completed' : 'Error',
    finishedAt: nowIso,
  };
  return {
    ...pod,
    status: {
      ...pod.status,
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Initialized', status: 'True' },
        { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' },
        { type: 'Ready', status: 'False', reason: 'PodCompleted' },
      ],
      containerStatuses: [
        { name: containerName(pod), ready: false, started: false, restartCount: 0, state: { terminated } },
      ],
    },
  };
}

/** Terminal Job conditions as Kubernetes ≥ 1.31 writes them (the `…Target`/`…Met` one first). */
export function terminalConditions(outcome: 'succeeded' | 'failed', nowIso: string): object[] {
  const at = { lastProbeTime: nowIso, lastTransitionTime: nowIso };
  if (outcome === 'succeeded') {
    return [
      {
        type: 'SuccessCriteriaMet',
        status: 'True',
        reason: 'CompletionsReached',
        message: 'Reached expected number of succeeded pods',
        ...at,
      },
      {
        type: 'Complete',
        status: 'True',
        reason: 'CompletionsReached',
        message: 'Reached expected number of succeeded pods',
        ...at,
      },
    ];
  }
  const failure = {
    reason: 'BackoffLimitExceeded',
    message: 'Job has reached the specified backoff limit',
    ...at,
  };
  return [
    { type: 'FailureTarget', status: 'True', ...failure },
    { type: 'Failed', status: 'True', ...failure },
  ];
}
