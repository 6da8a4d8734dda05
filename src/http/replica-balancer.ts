import type { FunctionState, Replica } from '../core/topology.js';

/**
 * Sync load balancing: the ready replica with the fewest in-flight requests from this SlimFaas process,
 * round-robin among ties (the scan starts after the previously chosen replica). O(replicas), no allocation.
 */
export class ReplicaBalancer {
  readonly #inFlight = new Map<string, number>();
  readonly #cursor = new Map<string, number>();

  pick(fn: FunctionState): Replica | undefined {
    const replicas = fn.replicas;
    const n = replicas.length;
    if (n === 0) return undefined;
    const start = (this.#cursor.get(fn.spec.name) ?? 0) % n;
    let best: Replica | undefined;
    let bestIndex = -1;
    let bestCount = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const index = (start + k) % n;
      const replica = replicas[index] as Replica;
      if (!replica.ready) continue;
      const count = this.#inFlight.get(replica.id) ?? 0;
      if (count < bestCount) {
        best = replica;
        bestIndex = index;
        bestCount = count;
        if (count === 0) break;
      }
    }
    if (best !== undefined) this.#cursor.set(fn.spec.name, bestIndex + 1);
    return best;
  }

  acquire(replicaId: string): void {
    this.#inFlight.set(replicaId, (this.#inFlight.get(replicaId) ?? 0) + 1);
  }

  release(replicaId: string): void {
    const n = (this.#inFlight.get(replicaId) ?? 0) - 1;
    if (n > 0) this.#inFlight.set(replicaId, n);
    else this.#inFlight.delete(replicaId);
  }

  inFlight(replicaId: string): number {
    return this.#inFlight.get(replicaId) ?? 0;
  }
}
