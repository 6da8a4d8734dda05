import type { V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { AnnotationProblem } from '../../core/annotations.js';
import type { FunctionState, PodType, Replica } from '../../core/topology.js';
import { podIsLive, podToReplica } from './pod-mapping.js';
import { selectorMatches, type Workload, type WorkloadFunction } from './workload-mapping.js';

export interface TopologyInputs {
  readonly deployments: ReadonlyMap<string, V1Deployment>;
  readonly statefulSets: ReadonlyMap<string, V1StatefulSet>;
  readonly pods: ReadonlyMap<string, V1Pod>;
  readonly namespace: string;
  readonly urlTemplate: string;
  readonly podUrlTemplate?: string | undefined;
  /** Desired counts recorded by `setReplicas` that the watched workload does not show yet. */
  readonly requestedOverrides: ReadonlyMap<string, number>;
  /** Reads a workload as a function (cached by the caller per object). */
  readonly read: (workload: Workload, podType: PodType) => WorkloadFunction;
}

export interface Topology {
  readonly states: Map<string, FunctionState>;
  /** `spec.replicas` as Kubernetes has it, per function. */
  readonly observedReplicas: Map<string, number>;
  readonly invalid: Map<string, readonly AnnotationProblem[]>;
  /** Names used by both a Deployment and a StatefulSet; the Deployment wins. */
  readonly duplicates: string[];
}

/**
 * Builds every function's state from the watched caches. Pods belong to a function when its label
 * selector matches them (not by name prefix: `fib` must not take the pods of `fibonacci`).
 */
export function buildTopology(inputs: TopologyInputs): Topology {
  const topology: Topology = {
    states: new Map(),
    observedReplicas: new Map(),
    invalid: new Map(),
    duplicates: [],
  };
  const pods = [...inputs.pods.values()]
    .filter(podIsLive)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const workloads: [Workload, PodType][] = [
    ...[...inputs.deployments.values()].map((w): [Workload, PodType] => [w, 'Deployment']),
    ...[...inputs.statefulSets.values()].map((w): [Workload, PodType] => [w, 'StatefulSet']),
  ];
  for (const [workload, podType] of workloads) {
    const read = inputs.read(workload, podType);
    if (read.kind === 'not-a-function') continue;
    if (read.kind === 'invalid') {
      topology.invalid.set(read.name, read.problems);
      continue;
    }
    const { name } = read.spec;
    if (topology.states.has(name)) {
      topology.duplicates.push(name);
      continue;
    }
    const context = {
      urlTemplate: inputs.urlTemplate,
      podUrlTemplate: inputs.podUrlTemplate,
      functionName: name,
      namespace: inputs.namespace,
    };
    const replicas = pods
      .filter((pod) => selectorMatches(read.selector, pod.metadata?.labels))
      .map((pod) => podToReplica(pod, context));
    topology.observedReplicas.set(name, read.replicas);
    topology.states.set(
      name,
      Object.freeze({
        spec: read.spec,
        podType,
        requested: inputs.requestedOverrides.get(name) ?? read.replicas,
        replicas: Object.freeze(replicas),
      }),
    );
  }
  return topology;
}

function sameReplica(a: Replica, b: Replica | undefined): boolean {
  return (
    b !== undefined &&
    a.id === b.id &&
    a.origin === b.origin &&
    a.ip === b.ip &&
    a.ready === b.ready &&
    a.failureReason === b.failureReason &&
    a.unschedulable === b.unschedulable
  );
}

/** Whether two snapshots of a function differ in nothing a caller can observe. */
export function sameState(a: FunctionState, b: FunctionState): boolean {
  if (a.podType !== b.podType || a.requested !== b.requested) return false;
  if (a.spec !== b.spec && JSON.stringify(a.spec) !== JSON.stringify(b.spec)) return false;
  return a.replicas.length === b.replicas.length && a.replicas.every((r, i) => sameReplica(r, b.replicas[i]));
}

/** Ids of replicas ready in `next` that were absent or not ready in `previous`. */
export function newlyReady(previous: FunctionState | undefined, next: FunctionState): string[] {
  const wasReady = new Set(previous?.replicas.filter((r) => r.ready).map((r) => r.id) ?? []);
  return next.replicas.filter((r) => r.ready && !wasReady.has(r.id)).map((r) => r.id);
}
