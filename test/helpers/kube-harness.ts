import type { TopologyEvent } from '../../src/core/ports.js';
import type { FunctionState } from '../../src/core/topology.js';
import { KubernetesOrchestrator } from '../../src/orchestrators/kubernetes/index.js';
import { recordingLogger, type LogEntry } from '../contracts/orchestrator-contract.js';
import { FakeKubeApi, type FakeKubeApiOptions, type WorkloadDefinition } from './fake-kube-api.js';

export interface KubeHarness {
  readonly api: FakeKubeApi;
  readonly orchestrator: KubernetesOrchestrator;
  readonly logs: LogEntry[];
  readonly events: TopologyEvent[];
  state(name: string): FunctionState | undefined;
  close(): Promise<void>;
}

/** A fake API server with `workloads` applied and a started KubernetesOrchestrator watching it. */
export async function startKubeHarness(
  workloads: readonly WorkloadDefinition[],
  options: FakeKubeApiOptions = {},
): Promise<KubeHarness> {
  const api = await FakeKubeApi.start(options);
  for (const workload of workloads) api.apply(workload);
  const logs: LogEntry[] = [];
  const orchestrator = new KubernetesOrchestrator({
    kubeConfig: api.kubeConfig(),
    namespace: api.namespace,
    functionUrlTemplate: 'http://{pod_ip}:{pod_port}',
    logger: recordingLogger(logs),
    watchBackoff: { initialMs: 20, maxMs: 200 },
    patchBackoff: { initialMs: 20, maxMs: 200 },
  });
  const events: TopologyEvent[] = [];
  orchestrator.subscribe((event) => events.push(event));
  await orchestrator.start();
  return {
    api,
    orchestrator,
    logs,
    events,
    state: (name) => orchestrator.functions().get(name),
    close: async () => {
      await orchestrator.close();
      await api.close();
    },
  };
}

export const FUNCTION = { 'SlimFaas/Function': 'true' } as const;

export function readyCount(harness: KubeHarness, name: string): number {
  return harness.state(name)?.replicas.filter((r) => r.ready).length ?? 0;
}
