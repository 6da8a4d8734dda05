export {
  LocalProcessOrchestrator,
  type LocalProcessOrchestratorOptions,
} from './local-process-orchestrator.js';
export type { LocalFunctionDefinition, LocalHealthCheck } from './local-function-definition.js';
export { LocalJobRunner, type LocalJobDefinition, type LocalJobRunnerOptions } from './local-job-runner.js';
