import type { FunctionSpec } from './function-spec.js';

/** `PodType` in SlimFaas's status JSON. Local processes report `Process` (docs/compatibility.md). */
export type PodType = 'Deployment' | 'StatefulSet' | 'Process';

/** One running (or starting) instance of a function: a pod or a local process. */
export interface Replica {
  /** Stable for the replica's life, unique across functions: e.g. `fibonacci-0` or a pod name. */
  readonly id: string;
  /** `http://host:port`, the base URL requests are sent to. */
  readonly origin: string;
  /** The IP callers from this replica appear with (pod IP; `127.0.0.1` for local processes). */
  readonly ip: string;
  readonly ready: boolean;
  /**
   * Where events for this replica go, when it differs from `origin` (Kubernetes `BASE_FUNCTION_POD_URL`:
   * `origin` may be a Service URL while events must reach each pod).
   */
  readonly podOrigin?: string | undefined;
  /** Why the replica cannot start or serve (e.g. `StartupTimeout`, `PortRangeExhausted`, `Unschedulable`). */
  readonly failureReason?: string | undefined;
  /** True when the replica cannot be scheduled/placed: further scale-up is pointless (reference §4.1 step 8). */
  readonly unschedulable?: boolean | undefined;
}

/** A function as the orchestrator sees it now. Immutable snapshot; a change produces a new object. */
export interface FunctionState {
  readonly spec: FunctionSpec;
  readonly podType: PodType;
  /** Desired replicas (`spec.replicas` of the Deployment, or the local desired count). */
  readonly requested: number;
  readonly replicas: readonly Replica[];
}

export function readyReplicas(fn: FunctionState): readonly Replica[] {
  return fn.replicas.filter((r) => r.ready);
}
