import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/cluster-e2e.js';
import { FN_SERVER, startSlimFaas, status, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

// Regression: with `SlimFaas/ReplicasAtStart: "0"` a call to a function at zero logged `wake cold` and then
// hung, because the wake target was max(ReplicasAtStart, ReplicasMin) = 0. Ports 47200–47249 (replicas)
// belong to this file.
const manifest = (options: { nodes: number; from: number }): string => `
schemaVersion: 1
name: e2e-at-start-zero-${options.nodes}
cluster: { nodes: ${options.nodes} }
processPorts: { from: ${options.from}, to: ${options.from + 19} }
state: { mode: ephemeral }
functions:
  cold:
    command: [node, ${FN_SERVER}]
    annotations:
      SlimFaas/ReplicasMin: "0"
      SlimFaas/ReplicasAtStart: "0"
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "600"
    health: { path: /health, periodSeconds: 1 }
`;

for (const { nodes, from } of [
  { nodes: 1, from: 47200 },
  { nodes: 3, from: 47220 },
]) {
  describe(`ReplicasAtStart "0" on cluster.nodes: ${nodes}`, { timeout: 180_000 }, () => {
    let sf: SlimFaasProcess;
    beforeAll(async () => {
      sf = await startSlimFaas(manifest({ nodes, from }), {
        timeoutMs: 120_000,
        env: { SLIMFAAS_SHUTDOWN_GRACE_MS: '2000' },
      });
    }, 150_000);
    afterAll(async () => {
      if (sf !== undefined && sf.child.exitCode === null) await sf.stop('SIGTERM');
    });

    it('starts one replica for a call to the function at zero and answers it', async () => {
      expect((await status(sf.url, 'cold')).NumberRequested).toBe(0);
      const answer = await call(`${sf.url}/function/cold/health`);
      expect(answer.status, answer.body).toBe(200);
      // Every node (the entrypoint balances) agrees: exactly one replica, ready.
      await waitUntil(
        async () => {
          const after = await status(sf.url, 'cold');
          return after.NumberRequested === 1 && after.NumberReady === 1;
        },
        { timeoutMs: 10_000, message: 'cold at 1 requested, 1 ready' },
      );
    });
  });
}
