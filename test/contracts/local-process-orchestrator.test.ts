import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProcessOrchestrator } from '../../src/orchestrators/local-process/index.js';
import { fnServerCommand, replicaPid } from '../helpers/fn-server.js';
import { describeOrchestratorContract, recordingLogger } from './orchestrator-contract.js';

// Ports 41000–41099 belong to this file (test/integration/local-process.test.ts uses 41100–41199).
describeOrchestratorContract('LocalProcessOrchestrator', async (specs) => {
  const stateDirectory = await mkdtemp(join(tmpdir(), 'slimfaas-local-contract-'));
  const orchestrator = new LocalProcessOrchestrator({
    functions: specs.map((spec) => ({
      spec,
      command: fnServerCommand(),
      workingDirectory: process.cwd(),
      environment: {},
      health: { path: '/health', periodSeconds: 1, timeoutSeconds: 1, startupTimeoutSeconds: 10 },
    })),
    processPorts: { from: 41000, to: 41099 },
    stateDirectory,
    logger: recordingLogger(),
    stopGraceMs: 2000,
  });
  await orchestrator.start();
  return {
    orchestrator,
    closeStopsReplicas: true,
    crash: async (_name, replica) => {
      process.kill(await replicaPid(replica.origin), 'SIGKILL');
    },
    dispose: () => rm(stateDirectory, { recursive: true, force: true }),
  };
});
