import type { FunctionSpec } from '../../src/core/function-spec.js';
import type { KubeObject } from './fake-kube-store.js';

export interface WorkloadDefinition {
  readonly name: string;
  readonly kind?: 'Deployment' | 'StatefulSet';
  /** `spec.replicas`; Kubernetes' default is 1. */
  readonly replicas?: number;
  /** Pod-template annotations (where SlimFaas reads `SlimFaas/*`). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Pod-template labels; default `{ app: name }`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** `spec.selector.matchLabels`; default the template labels. */
  readonly selector?: Readonly<Record<string, string>>;
}

/** The pod-template annotations that describe `spec` (only the keys the contract suite varies). */
export function functionAnnotations(spec: FunctionSpec): Record<string, string> {
  return {
    'SlimFaas/Function': 'true',
    'SlimFaas/ReplicasMin': String(spec.replicasMin),
    'SlimFaas/ReplicasAtStart': String(spec.replicasAtStart),
    'SlimFaas/TimeoutSecondBeforeSetReplicasMin': String(spec.timeoutSecondBeforeSetReplicasMin),
    'SlimFaas/NumberParallelRequest': String(spec.numberParallelRequest),
    'SlimFaas/NumberParallelRequestPerPod': String(spec.numberParallelRequestPerPod),
    'SlimFaas/DefaultVisibility': spec.defaultVisibility,
    'SlimFaas/DefaultTrust': spec.defaultTrust,
  };
}

/** A Deployment or StatefulSet object as `kubectl apply` would send it. */
export function deploymentObject(definition: WorkloadDefinition, namespace: string): KubeObject {
  const labels = { app: definition.name, ...definition.labels };
  const kind = definition.kind ?? 'Deployment';
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: definition.name, namespace, labels: { ...labels }, generation: 1 },
    spec: {
      replicas: definition.replicas ?? 1,
      selector: { matchLabels: { ...(definition.selector ?? labels) } },
      ...(kind === 'StatefulSet' ? { serviceName: definition.name } : {}),
      template: {
        metadata: { labels, annotations: { ...definition.annotations } },
        spec: { containers: [{ name: 'function', image: 'example/function:latest' }] },
      },
    },
    status: {},
  };
}
