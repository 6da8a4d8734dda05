export {
  LocalProcessOrchestrator,
  type LocalProcessOrchestratorOptions,
} from './local-process-orchestrator.js';
export type { LocalFunctionDefinition, LocalHealthCheck } from './local-function-definition.js';
