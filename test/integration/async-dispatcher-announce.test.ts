import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityTracker } from '../../src/core/activity.js';
import { encodeStoredRequest } from '../../src/core/async-request.js';
import { systemClock } from '../../src/core/clock.js';
import { DEFAULT_CONFIGURATION } from '../../src/core/function-spec.js';
import type { LeaseOptions, LeaseResult, StateStore } from '../../src/core/state-store.js';
import { readyReplicas } from '../../src/core/topology.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';
import { AsyncDispatcher } from '../../src/workers/async-dispatcher.js';
import { recordingLogger, testFunctionSpec } from '../contracts/orchestrator-contract.js';
import { waitUntil } from '../helpers/wait-until.js';

/**
 * A lease that found the queue empty but answers only after an enqueue was announced (the store was slow):
 * the pass must not drop the queue as empty, or the element waits for the next full pass — with the safety
 * pass off, forever. Seen as a ~1 s delivery stall on the NATS store.
 */
describe('AsyncDispatcher: an announcement during an empty lease is not lost', () => {
  let store: EmbeddedStateStore;
  let fn: Server;
  const received: string[] = [];

  beforeAll(async () => {
    store = await EmbeddedStateStore.open({ ephemeral: true, thread: 'main' });
    fn = createServer((req, res) => {
      received.push(String(req.headers['slimfaas-element-id']));
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => fn.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await store?.close();
    await new Promise((r) => fn?.close(r));
  });

  it('delivers an element announced while the lease that missed it was still running', async () => {
    const name = `late-${randomUUID().slice(0, 8)}`;
    let gate: (() => void) | undefined;
    let emptyLeaseReturned = false;
    const slowLease = async (queue: string, options: LeaseOptions): Promise<LeaseResult> => {
      const result = await store.lease(queue, options);
      if (result.elements.length === 0 && result.nextAvailableAtMs === undefined && !emptyLeaseReturned) {
        await new Promise<void>((r) => (gate = r));
        emptyLeaseReturned = true;
      }
      return result;
    };
    const slowStore = new Proxy(store, {
      get: (target, key): unknown => {
        if (key === 'lease') return slowLease;
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value.bind(target) as unknown) : value;
      },
    }) as StateStore;
    const origin = `http://127.0.0.1:${(fn.address() as AddressInfo).port}`;
    const orchestrator = new MemoryOrchestrator({
      functions: [{ spec: testFunctionSpec(name, { replicasMin: 1 }) }],
      startReplica: () => Promise.resolve({ origin, stop: () => Promise.resolve() }),
    });
    await orchestrator.start();
    await waitUntil(() => readyReplicas(orchestrator.functions().get(name)!).length === 1);
    const dispatcher = new AsyncDispatcher({
      store: slowStore,
      orchestrator,
      waker: { wake: () => undefined },
      activity: new ActivityTracker(systemClock),
      clock: systemClock,
      logger: recordingLogger(),
      safetyIntervalMs: 0,
    });
    try {
      const payload = encodeStoredRequest({ method: 'POST', path: '/', headers: [], body: new Uint8Array() });
      const element = { payload, enqueuedAtMs: Date.now(), policy: DEFAULT_CONFIGURATION.defaultAsync };
      // The first element makes the queue known; the pass after its delivery leases the empty queue and stalls.
      await store.enqueue(name, { ...element, id: 'first' });
      dispatcher.start();
      await waitUntil(() => received.includes('first') && gate !== undefined, {
        message: 'empty lease stalled',
      });
      await store.enqueue(name, { ...element, id: 'second' });
      gate?.();
      await waitUntil(() => received.includes('second'), { timeoutMs: 5_000, message: 'second delivered' });
      expect(received).toEqual(['first', 'second']);
    } finally {
      gate?.();
      await dispatcher.close();
      await orchestrator.close();
    }
  }, 30_000);
});
