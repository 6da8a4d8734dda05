import type { FunctionSpec } from '../../core/function-spec.js';
import type { FunctionState, PodType, Replica } from '../../core/topology.js';

/** A replica started by a test, e.g. an in-process `node:http` server listening on port 0. */
export interface MemoryReplicaHandle {
  readonly origin: string;
  stop(): Promise<void>;
}

/** A replica of the memory fake; listed once started (or when unschedulable). */
export interface MemoryReplica {
  readonly index: number;
  /** undefined while `startReplica` has not resolved: the replica is not listed yet. */
  handle: MemoryReplicaHandle | undefined;
  ready: boolean;
  unschedulable: boolean;
  failureReason: string | undefined;
  readyTimer: NodeJS.Timeout | undefined;
}

export interface MemoryFunction {
  spec: FunctionSpec;
  podType: PodType;
  requested: number;
  readonly replicas: Map<number, MemoryReplica>;
}

/** The immutable snapshot of a memory function. */
export function buildState(fn: MemoryFunction): FunctionState {
  const replicas: Replica[] = [...fn.replicas.values()]
    .filter((r) => r.handle !== undefined || r.unschedulable)
    .sort((a, b) => a.index - b.index)
    .map((r) =>
      Object.freeze({
        id: `${fn.spec.name}-${r.index}`,
        origin: r.handle?.origin ?? '',
        ip: '127.0.0.1',
        ready: r.ready,
        failureReason: r.failureReason,
        unschedulable: r.unschedulable || undefined,
      }),
    );
  return Object.freeze({
    spec: fn.spec,
    podType: fn.podType,
    requested: fn.requested,
    replicas: Object.freeze(replicas),
  });
}

/** Whether two snapshots of a function differ in nothing a caller can observe. */
export function sameState(a: FunctionState, b: FunctionState): boolean {
  if (a.spec !== b.spec || a.podType !== b.podType || a.requested !== b.requested) return false;
  if (a.replicas.length !== b.replicas.length) return false;
  return a.replicas.every((r, i) => {
    const o = b.replicas[i];
    return (
      o !== undefined &&
      r.id === o.id &&
      r.origin === o.origin &&
      r.ready === o.ready &&
      r.failureReason === o.failureReason &&
      r.unschedulable === o.unschedulable
    );
  });
}
