export {
  MemoryOrchestrator,
  type MemoryOrchestratorOptions,
  type MemoryReplicaHandle,
  type ScaleCall,
} from './memory-orchestrator.js';
