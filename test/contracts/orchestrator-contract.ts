import { afterEach, describe, expect, it } from 'vitest';
import { SlimFaasError } from '../../src/core/errors.js';
import type { FunctionSpec } from '../../src/core/function-spec.js';
import type { Logger, Orchestrator, TopologyEvent } from '../../src/core/ports.js';
import { readyReplicas, type FunctionState, type Replica } from '../../src/core/topology.js';
import { waitUntil } from '../helpers/wait-until.js';

/** An orchestrator under test, started, with the one control the contract needs that the port lacks. */
export interface OrchestratorUnderTest {
  readonly orchestrator: Orchestrator;
  /** Ends a replica abruptly, as a crashed process or a deleted pod would end. */
  readonly crash: (functionName: string, replica: Replica) => Promise<void>;
  /** True when `close()` stops the replicas (local processes, the memory fake); false when it only stops watching. */
  readonly closeStopsReplicas: boolean;
  /** Called after `close()`, e.g. to remove temporary directories. */
  readonly dispose?: () => Promise<void>;
}

/** Builds and starts an orchestrator that knows exactly these functions. */
export type MakeOrchestrator = (functions: readonly FunctionSpec[]) => Promise<OrchestratorUnderTest>;

import { testFunctionSpec } from '../helpers/test-function-spec.js';

export { testFunctionSpec };

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string | undefined;
  readonly fields: Record<string, unknown>;
}

/** A Logger that keeps every entry (with its bindings) so a test can assert what was logged. */
export function recordingLogger(
  entries: LogEntry[] = [],
  bindings: Record<string, unknown> = {},
): Logger & {
  entries: LogEntry[];
} {
  const at =
    (level: LogEntry['level']) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, msg, fields: { ...bindings, ...obj } });
    };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(entries, { ...bindings, ...more }),
    isLevelEnabled: () => true,
  };
}

/** The status of `GET <origin>/health`, or undefined when nothing answers. */
export async function httpStatus(origin: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${origin}/health`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}

function stateOf(orchestrator: Orchestrator, name: string): FunctionState {
  const state = orchestrator.functions().get(name);
  if (state === undefined) throw new Error(`function ${name} missing from the snapshot`);
  return state;
}

/**
 * The `Orchestrator` port's contract (src/core/ports.ts), run against every implementation.
 * Times are generous: a local replica is a real Node process, and a crash is replaced after a back-off.
 */
export function describeOrchestratorContract(label: string, make: MakeOrchestrator): void {
  describe(`${label} (Orchestrator contract)`, () => {
    const started: OrchestratorUnderTest[] = [];
    afterEach(async () => {
      for (const item of started.splice(0)) {
        await item.orchestrator.close();
        await item.dispose?.();
      }
    });
    async function setup(...specs: FunctionSpec[]): Promise<OrchestratorUnderTest> {
      const item = await make(specs);
      started.push(item);
      return item;
    }
    const readyCount = (o: Orchestrator, name: string): number => readyReplicas(stateOf(o, name)).length;

    it('lists every function with requested = replicasMin and starts replicasMin replicas', async () => {
      const { orchestrator } = await setup(
        testFunctionSpec('idle', { replicasMin: 0 }),
        testFunctionSpec('warm', { replicasMin: 1 }),
      );
      expect([...orchestrator.functions().keys()].sort()).toEqual(['idle', 'warm']);
      expect(stateOf(orchestrator, 'idle')).toMatchObject({ requested: 0, replicas: [] });
      expect(stateOf(orchestrator, 'warm').requested).toBe(1);
      expect(['Deployment', 'StatefulSet', 'Process']).toContain(stateOf(orchestrator, 'warm').podType);
      await waitUntil(() => readyCount(orchestrator, 'warm') === 1, { message: 'warm ready' });
      expect(stateOf(orchestrator, 'warm').spec.name).toBe('warm');
      expect(stateOf(orchestrator, 'idle').replicas).toEqual([]);
    });

    it('returns the same snapshot object while nothing changes', async () => {
      const { orchestrator } = await setup(testFunctionSpec('steady', { replicasMin: 1 }));
      await waitUntil(() => readyCount(orchestrator, 'steady') === 1);
      expect(orchestrator.functions()).toBe(orchestrator.functions());
    });

    it('shows setReplicas at once as requested, then converges to ready replicas announced by replica-ready', async () => {
      const { orchestrator } = await setup(testFunctionSpec('scale-up'));
      const readyIds: string[] = [];
      orchestrator.subscribe((event) => {
        if (event.kind === 'replica-ready' && event.name === 'scale-up') readyIds.push(event.replicaId);
      });
      await orchestrator.setReplicas('scale-up', 2);
      expect(stateOf(orchestrator, 'scale-up').requested).toBe(2);
      await waitUntil(() => readyCount(orchestrator, 'scale-up') === 2, { message: 'two ready replicas' });
      const replicas = stateOf(orchestrator, 'scale-up').replicas;
      expect(new Set(replicas.map((r) => r.id)).size).toBe(2);
      expect(new Set(replicas.map((r) => r.origin)).size).toBe(2);
      expect([...readyIds].sort()).toEqual(replicas.map((r) => r.id).sort());
    });

    it('announces each change after the snapshot already reflects it', async () => {
      const { orchestrator } = await setup(testFunctionSpec('sync-events'));
      const mismatches: TopologyEvent[] = [];
      let requestedSeen = false;
      orchestrator.subscribe((event) => {
        const state = orchestrator.functions().get(event.name);
        if (state?.requested === 1) requestedSeen = true;
        if (
          event.kind === 'replica-ready' &&
          !state?.replicas.some((r) => r.id === event.replicaId && r.ready)
        ) {
          mismatches.push(event);
        }
      });
      await orchestrator.setReplicas('sync-events', 1);
      expect(requestedSeen).toBe(true);
      await waitUntil(() => readyCount(orchestrator, 'sync-events') === 1);
      expect(mismatches).toEqual([]);
    });

    it('routes to ready replicas that answer HTTP at their origin', async () => {
      const { orchestrator } = await setup(testFunctionSpec('http', { replicasMin: 1 }));
      const [replica] = await waitUntil(() => {
        const ready = readyReplicas(stateOf(orchestrator, 'http'));
        return ready.length === 1 ? ready : undefined;
      });
      expect(replica?.origin).toMatch(/^http:\/\/[^/]+:\d+$/);
      expect(await httpStatus(replica?.origin ?? '')).toBe(200);
    });

    it('removes every replica when scaled to 0, and the removed replicas stop serving', async () => {
      const { orchestrator } = await setup(testFunctionSpec('to-zero', { replicasMin: 1 }));
      await waitUntil(() => readyCount(orchestrator, 'to-zero') === 1);
      const origin = stateOf(orchestrator, 'to-zero').replicas[0]?.origin ?? '';
      await orchestrator.setReplicas('to-zero', 0);
      expect(stateOf(orchestrator, 'to-zero').requested).toBe(0);
      await waitUntil(() => stateOf(orchestrator, 'to-zero').replicas.length === 0, {
        message: 'no replica',
      });
      await waitUntil(async () => (await httpStatus(origin)) === undefined, { message: 'origin closed' });
    });

    it('rejects an unknown function with function_not_found', async () => {
      const { orchestrator } = await setup(testFunctionSpec('known'));
      const error: unknown = await orchestrator.setReplicas('unknown', 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SlimFaasError);
      expect(error).toMatchObject({ code: 'function_not_found' });
    });

    it('treats a repeated setReplicas as a no-op', async () => {
      const { orchestrator } = await setup(testFunctionSpec('same'));
      await Promise.all([1, 2, 3].map(() => orchestrator.setReplicas('same', 1)));
      await waitUntil(() => readyCount(orchestrator, 'same') === 1);
      const before = stateOf(orchestrator, 'same');
      await orchestrator.setReplicas('same', 1);
      const after = stateOf(orchestrator, 'same');
      expect(after.requested).toBe(1);
      expect(after.replicas.map((r) => [r.id, r.origin, r.ready])).toEqual(
        before.replicas.map((r) => [r.id, r.origin, r.ready]),
      );
    });

    it('reports a replica that dies as not ready, then replaces it', async () => {
      const spec = testFunctionSpec('phoenix', { replicasMin: 1 });
      const { orchestrator, crash } = await setup(spec);
      await waitUntil(() => readyCount(orchestrator, 'phoenix') === 1);
      const victim = readyReplicas(stateOf(orchestrator, 'phoenix'))[0];
      if (victim === undefined) throw new Error('no ready replica');
      let reportedGone = false;
      orchestrator.subscribe(() => {
        const state = stateOf(orchestrator, 'phoenix');
        if (!state.replicas.some((r) => r.origin === victim.origin && r.ready)) reportedGone = true;
      });
      await crash('phoenix', victim);
      await waitUntil(() => reportedGone, { message: 'dead replica reported not ready' });
      const [replacement] = await waitUntil(
        () => {
          const ready = readyReplicas(stateOf(orchestrator, 'phoenix'));
          return ready.length === 1 ? ready : undefined;
        },
        { message: 'replacement ready' },
      );
      expect(await httpStatus(replacement?.origin ?? '')).toBe(200);
      expect(stateOf(orchestrator, 'phoenix').requested).toBe(1);
    });

    it('stops its replicas on close() when it owns them, and close() is idempotent', async () => {
      const { orchestrator, closeStopsReplicas } = await setup(
        testFunctionSpec('closing', { replicasMin: 1 }),
      );
      await waitUntil(() => readyCount(orchestrator, 'closing') === 1);
      const origin = stateOf(orchestrator, 'closing').replicas[0]?.origin ?? '';
      await Promise.all([orchestrator.close(), orchestrator.close()]);
      await orchestrator.close();
      if (closeStopsReplicas) expect(await httpStatus(origin)).toBeUndefined();
    });
  });
}
