import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionSpec } from '../../src/core/function-spec.js';
import type { Logger } from '../../src/core/ports.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { SupervisorApi } from '../../src/http/supervisor-api.js';
import { LocalProcessOrchestrator } from '../../src/orchestrators/local-process/index.js';
import { fnServerCommand } from './fn-server.js';

export interface SupervisorUnderTest {
  readonly url: string;
  readonly token: string;
  readonly local: LocalProcessOrchestrator;
  readonly api: SupervisorApi;
  readonly server: RunningServer;
  close(): Promise<void>;
}

/**
 * A real supervisor as `slimfaas up` runs it in cluster mode: a LocalProcessOrchestrator running
 * fn-server replicas, exposed by SupervisorApi on 127.0.0.1.
 */
export async function startSupervisor(options: {
  readonly specs: readonly FunctionSpec[];
  readonly processPorts: { readonly from: number; readonly to: number };
  readonly logger: Logger;
  readonly token?: string;
}): Promise<SupervisorUnderTest> {
  const stateDirectory = await mkdtemp(join(tmpdir(), 'slimfaas-supervisor-'));
  const local = new LocalProcessOrchestrator({
    functions: options.specs.map((spec) => ({
      spec,
      command: fnServerCommand(),
      workingDirectory: process.cwd(),
      environment: {},
      health: { path: '/health', periodSeconds: 1, timeoutSeconds: 1, startupTimeoutSeconds: 10 },
    })),
    processPorts: options.processPorts,
    stateDirectory,
    logger: options.logger,
    stopGraceMs: 2000,
  });
  await local.start();
  const token = options.token ?? 'test-token-0123456789';
  const api = new SupervisorApi({ orchestrator: local, token, logger: options.logger });
  const server = await startServer(api.handle, { host: '127.0.0.1', port: 0 });
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    token,
    local,
    api,
    server,
    close() {
      closing ??= (async () => {
        api.close();
        await server.close(0);
        await local.close();
        await rm(stateDirectory, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
