import { SupervisorOrchestrator } from '../../src/orchestrators/supervisor/index.js';
import { replicaPid } from '../helpers/fn-server.js';
import { startSupervisor } from '../helpers/supervisor-harness.js';
import { describeOrchestratorContract, recordingLogger } from './orchestrator-contract.js';

// Ports 45100–45149 belong to this file (the cluster helper's range is 45100–45299).
describeOrchestratorContract('SupervisorOrchestrator (over a real supervisor)', async (specs) => {
  const logger = recordingLogger();
  const supervisor = await startSupervisor({ specs, processPorts: { from: 45100, to: 45149 }, logger });
  const orchestrator = new SupervisorOrchestrator({ url: supervisor.url, token: supervisor.token, logger });
  await orchestrator.start();
  return {
    orchestrator,
    // The node only watches; the supervisor owns (and stops) the replicas.
    closeStopsReplicas: false,
    crash: async (_name, replica) => {
      process.kill(await replicaPid(replica.origin), 'SIGKILL');
    },
    dispose: () => supervisor.close(),
  };
});
