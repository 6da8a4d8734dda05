import type { FunctionSpec } from '../core/function-spec.js';
import type { Replica } from '../core/topology.js';

/**
 * Concurrency accounting of async deliveries, per function and per replica (reference §4.3 steps 3 and 6).
 *
 * - An HTTP attempt in flight takes a function slot (`NumberParallelRequest`) and a replica slot
 *   (`NumberParallelRequestPerPod`).
 * - An element waiting for its callback (the function answered `202`) keeps only its replica slot: the
 *   function still works on it, but no HTTP request is open. As in SlimFaas.
 */
export class DispatchSlots {
  readonly #functionInFlight = new Map<string, number>();
  readonly #replicaLoad = new Map<string, number>();
  readonly #cursor = new Map<string, number>();

  /** How many more elements may be sent to `spec`'s function now, over its ready replicas. */
  free(spec: FunctionSpec, ready: readonly Replica[]): number {
    const global = spec.numberParallelRequest - (this.#functionInFlight.get(spec.name) ?? 0);
    let perReplica = 0;
    for (const replica of ready) {
      perReplica += Math.max(0, spec.numberParallelRequestPerPod - this.replicaLoad(replica.id));
    }
    return Math.max(0, Math.min(global, perReplica));
  }

  /**
   * Least connections among `ready` replicas below the per-replica cap; ties are broken round-robin (the scan
   * starts after the replica chosen last for this function). Undefined when every replica is full.
   */
  pick(spec: FunctionSpec, ready: readonly Replica[]): Replica | undefined {
    const n = ready.length;
    if (n === 0) return undefined;
    const start = (this.#cursor.get(spec.name) ?? 0) % n;
    let best: Replica | undefined;
    let bestIndex = -1;
    let bestLoad = spec.numberParallelRequestPerPod;
    for (let k = 0; k < n; k++) {
      const index = (start + k) % n;
      const replica = ready[index] as Replica;
      const load = this.replicaLoad(replica.id);
      if (load < bestLoad) {
        best = replica;
        bestIndex = index;
        bestLoad = load;
      }
    }
    if (best !== undefined) this.#cursor.set(spec.name, bestIndex + 1);
    return best;
  }

  /** An HTTP attempt starts. */
  acquire(functionName: string, replicaId: string): void {
    increment(this.#functionInFlight, functionName, 1);
    increment(this.#replicaLoad, replicaId, 1);
  }

  /** An HTTP attempt ends. */
  release(functionName: string, replicaId: string): void {
    increment(this.#functionInFlight, functionName, -1);
    increment(this.#replicaLoad, replicaId, -1);
  }

  /** Callback mode: the function answered `202`; the element keeps a slot on its replica until it ends. */
  holdReplica(replicaId: string): void {
    increment(this.#replicaLoad, replicaId, 1);
  }

  /** A callback-mode element ends (callback, window passed, or abandoned). */
  releaseReplica(replicaId: string): void {
    increment(this.#replicaLoad, replicaId, -1);
  }

  replicaLoad(replicaId: string): number {
    return this.#replicaLoad.get(replicaId) ?? 0;
  }
}

function increment(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
