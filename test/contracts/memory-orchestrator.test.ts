import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryOrchestrator,
  type MemoryReplicaHandle,
} from '../../src/orchestrators/memory/memory-orchestrator.js';
import { waitUntil } from '../helpers/wait-until.js';
import { describeOrchestratorContract, testFunctionSpec } from './orchestrator-contract.js';

/** A replica as the memory orchestrator's tests run it: an in-process HTTP server answering 200 everywhere. */
async function startHttpReplica(): Promise<MemoryReplicaHandle> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describeOrchestratorContract('MemoryOrchestrator', async (specs) => {
  const orchestrator = new MemoryOrchestrator({
    functions: specs.map((spec) => ({ spec })),
    startReplica: () => startHttpReplica(),
    readyDelayMs: 5,
  });
  await orchestrator.start();
  return {
    orchestrator,
    closeStopsReplicas: true,
    crash: (name, replica) => orchestrator.killReplica(name, Number(replica.id.slice(name.length + 1))),
  };
});

describe('MemoryOrchestrator test controls', () => {
  const orchestrators: MemoryOrchestrator[] = [];
  afterEach(async () => {
    await Promise.all(orchestrators.splice(0).map((o) => o.close()));
  });
  async function make(options: Partial<ConstructorParameters<typeof MemoryOrchestrator>[0]> = {}) {
    const orchestrator = new MemoryOrchestrator({
      functions: [{ spec: testFunctionSpec('fn') }],
      ...options,
    });
    orchestrators.push(orchestrator);
    await orchestrator.start();
    return orchestrator;
  }

  it('gives fake origins without startReplica and logs every scale call', async () => {
    const orchestrator = await make();
    await orchestrator.setReplicas('fn', 2);
    await orchestrator.setReplicas('fn', 2);
    await orchestrator.setReplicas('nope', 1).catch(() => undefined);
    await waitUntil(() =>
      orchestrator
        .functions()
        .get('fn')
        ?.replicas.every((r) => r.ready),
    );
    expect(
      orchestrator
        .functions()
        .get('fn')
        ?.replicas.map((r) => r.id),
    ).toEqual(['fn-0', 'fn-1']);
    expect(orchestrator.functions().get('fn')?.replicas[0]?.origin).toMatch(/^http:\/\/fn-0\./);
    expect(orchestrator.scaleCalls).toEqual([
      { name: 'fn', replicas: 2 },
      { name: 'fn', replicas: 2 },
      { name: 'nope', replicas: 1 },
    ]);
  });

  it('keeps replicas not ready until setReady when autoReady is false, announcing replica-ready', async () => {
    const orchestrator = await make({ autoReady: false });
    const events: string[] = [];
    orchestrator.subscribe((e) => events.push(e.kind === 'replica-ready' ? `ready:${e.replicaId}` : e.kind));
    await orchestrator.setReplicas('fn', 1);
    expect(orchestrator.functions().get('fn')?.replicas).toMatchObject([{ id: 'fn-0', ready: false }]);
    orchestrator.setReady('fn', 0, true);
    expect(orchestrator.functions().get('fn')?.replicas).toMatchObject([{ id: 'fn-0', ready: true }]);
    expect(events.at(-1)).toBe('ready:fn-0');
    orchestrator.setReady('fn', 0, false);
    expect(orchestrator.functions().get('fn')?.replicas[0]?.ready).toBe(false);
  });

  it('marks a replica unschedulable and never makes it ready', async () => {
    const orchestrator = await make({ readyDelayMs: 50 });
    await orchestrator.setReplicas('fn', 1);
    orchestrator.markUnschedulable('fn', 0);
    expect(orchestrator.functions().get('fn')?.replicas[0]).toMatchObject({
      ready: false,
      unschedulable: true,
      failureReason: 'Unschedulable',
    });
  });

  it('scales down from the highest index and announces removed functions', async () => {
    const orchestrator = await make();
    await orchestrator.setReplicas('fn', 3);
    await orchestrator.setReplicas('fn', 1);
    expect(
      orchestrator
        .functions()
        .get('fn')
        ?.replicas.map((r) => r.id),
    ).toEqual(['fn-0']);
    const events: string[] = [];
    orchestrator.subscribe((e) => events.push(`${e.kind}:${e.name}`));
    orchestrator.removeFunction('fn');
    expect(orchestrator.functions().has('fn')).toBe(false);
    expect(events).toEqual(['function-removed:fn']);
  });
});
