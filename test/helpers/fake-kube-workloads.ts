import type { FunctionSpec } from '../../src/core/function-spec.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeKubeStore, KubeObject } from './fake-kube-store.js';

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

/**
 * GET/PATCH `…/{deployments|statefulsets}/{name}/scale`: the Scale object; a PATCH must be
 * `application/merge-patch+json` with a non-negative integer `spec.replicas` (415 / 422 otherwise)
 * and bumps the workload's generation.
 */
export async function scaleWorkload(
  store: FakeKubeStore,
  options: {
    kind: 'deployments' | 'statefulsets';
    name: string;
    namespace: string;
    req: IncomingMessage;
    res: ServerResponse;
    reply: (code: number, reason: string, message: string) => number;
  },
): Promise<number> {
  const { kind, name, namespace, req, res, reply } = options;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const workload = store.get(kind, name);
  if (workload === undefined) return reply(404, 'NotFound', `${kind} "${name}" not found`);
  let current = workload;
  if (req.method === 'PATCH') {
    if (req.headers['content-type'] !== 'application/merge-patch+json') {
      return reply(415, 'UnsupportedMediaType', `unsupported patch type ${req.headers['content-type']}`);
    }
    const patch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { spec?: { replicas?: unknown } };
    const replicas = patch.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      return reply(422, 'Invalid', 'spec.replicas must be a non-negative integer');
    }
    const generation = (workload.metadata.generation ?? 1) + 1;
    current = store.put(kind, {
      ...workload,
      metadata: { ...workload.metadata, generation },
      spec: { ...workload.spec, replicas },
    });
  } else if (req.method !== 'GET') {
    return reply(405, 'MethodNotAllowed', `${req.method} on scale`);
  }
  const replicas = Number(current.spec?.['replicas'] ?? 1);
  const scale = {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name, namespace, resourceVersion: current.metadata.resourceVersion },
    spec: { replicas },
    status: { replicas },
  };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(scale));
  return 200;
}
