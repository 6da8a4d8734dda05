import type { V1Deployment, V1LabelSelector, V1StatefulSet } from '@kubernetes/client-node';
import { parseFunctionAnnotations, type AnnotationProblem } from '../../core/annotations.js';
import type { FunctionSpec } from '../../core/function-spec.js';
import type { PodType } from '../../core/topology.js';

export type Workload = V1Deployment | V1StatefulSet;

/** A workload read as a function, or why it is not one. */
export type WorkloadFunction =
  | { readonly kind: 'not-a-function' }
  | { readonly kind: 'invalid'; readonly name: string; readonly problems: readonly AnnotationProblem[] }
  | {
      readonly kind: 'function';
      readonly spec: FunctionSpec;
      readonly podType: PodType;
      /** `spec.replicas` of the workload (Kubernetes defaults it to 1). */
      readonly replicas: number;
      readonly selector: V1LabelSelector;
    };

/** True when the pod template carries `SlimFaas/Function: "true"` (case-insensitive, reference §2). */
export function isFunctionWorkload(workload: Workload): boolean {
  const marker = workload.spec?.template.metadata?.annotations?.['SlimFaas/Function'];
  return marker?.trim().toLowerCase() === 'true';
}

/** Reads a Deployment or StatefulSet: annotations come from the pod template, not the workload. */
export function workloadToFunction(workload: Workload, podType: PodType): WorkloadFunction {
  if (!isFunctionWorkload(workload)) return { kind: 'not-a-function' };
  const name = workload.metadata?.name ?? '';
  const annotations = workload.spec?.template.metadata?.annotations ?? {};
  const parsed = parseFunctionAnnotations(name, annotations);
  if (!parsed.ok) return { kind: 'invalid', name, problems: parsed.problems };
  return {
    kind: 'function',
    spec: parsed.spec,
    podType,
    replicas: workload.spec?.replicas ?? 1,
    selector: workload.spec?.selector ?? {},
  };
}

/**
 * Kubernetes label-selector semantics (matchLabels AND every matchExpression). An empty selector
 * matches nothing here: apps/v1 forbids it, and matching every pod would be the worse mistake.
 */
export function selectorMatches(
  selector: V1LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const matchLabels = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (matchLabels.length === 0 && expressions.length === 0) return false;
  const own = labels ?? {};
  if (!matchLabels.every(([key, value]) => own[key] === value)) return false;
  return expressions.every((e) => {
    const has = Object.hasOwn(own, e.key);
    const value = own[e.key];
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(value ?? '');
      case 'NotIn':
        return !has || !(e.values ?? []).includes(value ?? '');
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

/** The single log line for a skipped function: names the function, each key and its value. */
export function describeProblems(name: string, problems: readonly AnnotationProblem[]): string {
  const details = problems.map((p) => `${p.key}=${JSON.stringify(p.value)} (${p.message})`).join('; ');
  return `function ${name} skipped: invalid annotation ${details}`;
}
