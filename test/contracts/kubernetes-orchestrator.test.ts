import { KubernetesOrchestrator } from '../../src/orchestrators/kubernetes/index.js';
import { FakeKubeApi, functionAnnotations } from '../helpers/fake-kube-api.js';
import { describeOrchestratorContract, recordingLogger } from './orchestrator-contract.js';

describeOrchestratorContract('KubernetesOrchestrator', async (specs) => {
  const api = await FakeKubeApi.start();
  for (const spec of specs) {
    api.apply({ name: spec.name, replicas: spec.replicasMin, annotations: functionAnnotations(spec) });
  }
  const orchestrator = new KubernetesOrchestrator({
    kubeConfig: api.kubeConfig(),
    namespace: api.namespace,
    functionUrlTemplate: 'http://{pod_ip}:{pod_port}',
    logger: recordingLogger(),
    watchBackoff: { initialMs: 20, maxMs: 200 },
    patchBackoff: { initialMs: 20, maxMs: 200 },
  });
  await orchestrator.start();
  return {
    orchestrator,
    closeStopsReplicas: false,
    crash: (_name, replica) => {
      api.deletePod(replica.id);
      return Promise.resolve();
    },
    dispose: () => api.close(),
  };
});
