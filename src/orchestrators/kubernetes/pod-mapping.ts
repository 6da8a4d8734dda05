import type { V1Pod } from '@kubernetes/client-node';
import type { Replica } from '../../core/topology.js';

/** Values the URL templates (`BASE_FUNCTION_URL`, `BASE_FUNCTION_POD_URL`) are expanded with. */
export interface UrlTemplateValues {
  readonly podIp: string | undefined;
  /** Every `containerPort` > 0 of every container, in declaration order. */
  readonly ports: readonly number[];
  readonly functionName: string;
  readonly namespace: string;
}

const PLACEHOLDER = /\{(pod_ip|pod_port|pod_port_(\d+)|function_name|namespace)\}/g;

/**
 * Expands SlimFaas's placeholders (reference §3.1): `{pod_ip}`, `{pod_port}` (the first port),
 * `{pod_port_N}` (the N-th port, from 0), `{function_name}`, `{namespace}`. Undefined when a
 * placeholder has no value yet (no pod IP, no such port): the replica cannot be reached.
 */
export function expandUrlTemplate(template: string, values: UrlTemplateValues): string | undefined {
  let missing = false;
  const url = template.replace(PLACEHOLDER, (_match, name: string, index: string | undefined) => {
    let value: string | number | undefined;
    if (name === 'pod_ip') value = values.podIp;
    else if (name === 'pod_port') value = values.ports[0];
    else if (index !== undefined) value = values.ports[Number(index)];
    else if (name === 'function_name') value = values.functionName;
    else value = values.namespace;
    if (value === undefined || value === '') missing = true;
    return String(value ?? '');
  });
  return missing ? undefined : url.replace(/\/+$/, '');
}

/** Every `containerPort` > 0 of every container (reference §4.11). */
export function podPorts(pod: V1Pod): number[] {
  return (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).map((p) => p.containerPort).filter((port) => port > 0),
  );
}

function conditionIsTrue(pod: V1Pod, type: string): boolean {
  return pod.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

/**
 * Ready as SlimFaas defines it (reference §4.11): the first container has started, and both
 * `ContainersReady` and `Ready` are True. A terminating pod (deletionTimestamp set) is never ready:
 * Kubernetes already removes it from Service endpoints.
 */
export function podIsReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) return false;
  const first = pod.status?.containerStatuses?.[0];
  const started = first === undefined ? false : first.started !== false;
  return started && conditionIsTrue(pod, 'ContainersReady') && conditionIsTrue(pod, 'Ready');
}

/** Reasons a container is waiting that are part of a normal start, not a failure. */
const NORMAL_WAITING = new Set(['ContainerCreating', 'PodInitializing']);

/**
 * Why the pod cannot start or serve: `PodScheduled=False` gives `unschedulable` (the scaler then
 * stops scaling up, reference §4.1 step 8); otherwise a container's waiting/terminated reason.
 */
export function podFailure(pod: V1Pod): { reason: string | undefined; unschedulable: boolean } {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    return { reason: scheduled.reason ?? 'Unschedulable', unschedulable: true };
  }
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting?.reason;
    if (waiting !== undefined && !NORMAL_WAITING.has(waiting))
      return { reason: waiting, unschedulable: false };
    const terminated = status.state?.terminated?.reason;
    if (terminated !== undefined) return { reason: terminated, unschedulable: false };
  }
  return { reason: undefined, unschedulable: false };
}

/** Pods that count as replicas: not finished (Succeeded/Failed pods never serve again). */
export function podIsLive(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * The replica a pod is, with its origin from the URL template. A pod whose origin cannot be built
 * yet (no IP, no declared port) is listed, not ready, with an empty origin.
 */
export function podToReplica(
  pod: V1Pod,
  context: {
    readonly urlTemplate: string;
    /** `BASE_FUNCTION_POD_URL`, for event fan-out; omitted = the same as `urlTemplate`. */
    readonly podUrlTemplate?: string | undefined;
    readonly functionName: string;
    readonly namespace: string;
  },
): Replica {
  const ip = pod.status?.podIP ?? '';
  const values = {
    podIp: ip,
    ports: podPorts(pod),
    functionName: context.functionName,
    namespace: context.namespace,
  };
  const origin = expandUrlTemplate(context.urlTemplate, values);
  const podOrigin =
    context.podUrlTemplate === undefined || context.podUrlTemplate === context.urlTemplate
      ? undefined
      : expandUrlTemplate(context.podUrlTemplate, values);
  const failure = podFailure(pod);
  return Object.freeze({
    id: pod.metadata?.name ?? '',
    origin: origin ?? '',
    ...(podOrigin === undefined ? {} : { podOrigin }),
    ip,
    ready: origin !== undefined && podIsReady(pod),
    failureReason: failure.reason,
    unschedulable: failure.unschedulable || undefined,
  });
}
