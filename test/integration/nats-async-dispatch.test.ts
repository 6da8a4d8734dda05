import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityTracker } from '../../src/core/activity.js';
import { encodeStoredRequest } from '../../src/core/async-request.js';
import { systemClock } from '../../src/core/clock.js';
import { DEFAULT_CONFIGURATION } from '../../src/core/function-spec.js';
import { readyReplicas } from '../../src/core/topology.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { AsyncDispatcher } from '../../src/workers/async-dispatcher.js';
import { recordingLogger, testFunctionSpec } from '../contracts/orchestrator-contract.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait-until.js';

const PARALLEL = 4;

/**
 * The dispatcher on the NATS store, driven only by enqueue announcements (no safety pass): a burst of
 * concurrent enqueues while deliveries run must reach the function exactly once each, never more than
 * NumberParallelRequest at a time — the coalesced passes, group-committed ledger writes and pulled-ahead
 * leases must not lose or duplicate an element.
 */
describe('AsyncDispatcher on the NATS store (real nats-server, real function)', () => {
  let nats: NatsServer;
  let store: NatsStateStore;
  let fn: Server;
  const received: string[] = [];
  let active = 0;
  let maxActive = 0;

  beforeAll(async () => {
    nats = await startNatsServer();
    store = await NatsStateStore.open({ servers: nats.url });
    fn = createServer((req, res) => {
      active++;
      maxActive = Math.max(maxActive, active);
      received.push(String(req.headers['slimfaas-element-id']));
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          active--;
          res.end('ok');
        }, received.length % 3),
      );
    });
    await new Promise<void>((r) => fn.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await store?.close();
    await new Promise((r) => fn?.close(r));
    await nats?.stop();
  });

  it('delivers every element of a concurrent burst exactly once within NumberParallelRequest', async () => {
    const name = `burst-${randomUUID().slice(0, 8)}`;
    const origin = `http://127.0.0.1:${(fn.address() as AddressInfo).port}`;
    const orchestrator = new MemoryOrchestrator({
      functions: [{ spec: testFunctionSpec(name, { replicasMin: 1, numberParallelRequest: PARALLEL }) }],
      startReplica: () => Promise.resolve({ origin, stop: () => Promise.resolve() }),
    });
    await orchestrator.start();
    await waitUntil(() => readyReplicas(orchestrator.functions().get(name)!).length === 1);
    const dispatcher = new AsyncDispatcher({
      store,
      orchestrator,
      waker: { wake: () => undefined },
      activity: new ActivityTracker(systemClock),
      clock: systemClock,
      logger: recordingLogger(),
      safetyIntervalMs: 0,
    });
    dispatcher.start();
    try {
      const payload = encodeStoredRequest({
        method: 'POST',
        path: '/',
        headers: [],
        body: new Uint8Array(8),
      });
      const enqueue = async () => {
        const id = randomUUID();
        const element = { id, payload, enqueuedAtMs: Date.now(), policy: DEFAULT_CONFIGURATION.defaultAsync };
        expect(await store.enqueue(name, { ...element, newId: true })).toBe('enqueued');
        return id;
      };
      const ids: string[] = [];
      for (let wave = 0; wave < 10; wave++)
        ids.push(...(await Promise.all(Array.from({ length: 30 }, enqueue))));
      await waitUntil(() => received.length >= ids.length, { timeoutMs: 60_000, message: 'all delivered' });
      await waitUntil(
        async () => {
          const c = await store.counts(name);
          return c.ready + c.inFlight + c.retryPending === 0;
        },
        { timeoutMs: 30_000, message: 'queue empty' },
      );
      expect([...received].sort()).toEqual([...ids].sort());
      expect(maxActive).toBeLessThanOrEqual(PARALLEL);
    } finally {
      await dispatcher.close();
      await orchestrator.close();
    }
  }, 120_000);
});
