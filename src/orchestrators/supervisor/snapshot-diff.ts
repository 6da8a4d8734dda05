import type { TopologyEvent } from '../../core/ports.js';
import type { FunctionState } from '../../core/topology.js';

/**
 * The events that turn `before` into `after` (after a reconnect, when the messages in between were
 * missed): `function-changed` for a new or different function, then `replica-ready` for each replica
 * that is ready now and was not before, and `function-removed` for a function that is gone.
 */
export function diffSnapshots(
  before: ReadonlyMap<string, FunctionState>,
  after: ReadonlyMap<string, FunctionState>,
): TopologyEvent[] {
  const events: TopologyEvent[] = [];
  for (const [name, fn] of after) {
    const old = before.get(name);
    if (old !== undefined && JSON.stringify(old) === JSON.stringify(fn)) continue;
    events.push({ kind: 'function-changed', name });
    const wasReady = new Set(old?.replicas.filter((r) => r.ready).map((r) => r.id));
    for (const replica of fn.replicas) {
      if (replica.ready && !wasReady.has(replica.id))
        events.push({ kind: 'replica-ready', name, replicaId: replica.id });
    }
  }
  for (const name of before.keys()) {
    if (!after.has(name)) events.push({ kind: 'function-removed', name });
  }
  return events;
}
