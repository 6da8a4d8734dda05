export { KubernetesOrchestrator, type KubernetesOrchestratorOptions } from './kubernetes-orchestrator.js';
export {
  KubernetesJobRunner,
  createKubernetesJobRunner,
  type KubernetesJobRunnerOptions,
} from './kubernetes-job-runner.js';
export { expandUrlTemplate } from './pod-mapping.js';
export type { Backoff } from './resource-watch.js';
