import type { ServerConfig } from '../config/read-config.js';
import { systemClock } from '../core/clock.js';
import type { Logger } from '../core/ports.js';
import { composeCore } from '../compose-core.js';
import { startServer, type RunningServer } from '../http/server.js';
import { openStore } from '../open-store.js';
import { SupervisorOrchestrator } from '../orchestrators/supervisor/index.js';

export interface RunningNode {
  readonly url: string;
  readonly internalUrl: string;
  shutdown(): Promise<void>;
}

/**
 * `slimfaas node` (hidden; started by `slimfaas up` when `cluster.nodes` > 1): one SlimFaas node of a
 * local cluster. Functions run under the supervisor, reached with `SupervisorOrchestrator`; the state
 * (queues, activity) is the shared NATS store of `SLIMFAAS_STORE`. Two listeners on 127.0.0.1, as in
 * single-node mode (docs/security.md): the public one (`SLIMFAAS_PORTS`, behind the entrypoint, every
 * caller external) and the internal one (`SLIMFAAS_INTERNAL_PORT`, behind the internal balancer that
 * Trusted functions get as `SLIMFAAS_URL`, every caller internal).
 */
export async function runNode(config: ServerConfig, logger: Logger): Promise<RunningNode> {
  if (config.supervisorUrl === '' || config.supervisorToken === '') {
    throw new Error(
      'slimfaas node is started by `slimfaas up` (cluster.nodes > 1): SLIMFAAS_SUPERVISOR_URL and SLIMFAAS_SUPERVISOR_TOKEN are required',
    );
  }
  const clock = systemClock;
  const orchestrator = new SupervisorOrchestrator({
    url: config.supervisorUrl,
    token: config.supervisorToken,
    logger,
  });
  await orchestrator.start();
  const { store, leadership } = await openStore(config, { embeddedDirectory: '', logger }).catch(
    async (error: unknown) => {
      await orchestrator.close();
      throw error;
    },
  );
  let ready = false;
  const { scaler, dispatcher, activitySync, app, tracing } = composeCore({
    orchestrator,
    store,
    leadership,
    config,
    logger,
    clock,
    isReady: () => ready,
  });
  const servers: RunningServer[] = [];
  try {
    servers.push(await startServer(app.handle, { host: '127.0.0.1', port: config.slimfaasPorts[0] ?? 0 }));
    servers.push(await startServer(app.handleInternal, { host: '127.0.0.1', port: config.internalPort }));
  } catch (error) {
    await Promise.allSettled(servers.map((s) => s.close(0)));
    await Promise.allSettled([app.close(), orchestrator.close(), store.close()]);
    throw error;
  }
  await activitySync.start();
  leadership.start();
  scaler.start();
  dispatcher.start();
  ready = true;
  const steps: [string, () => Promise<unknown> | void][] = [
    ['stop accepting and drain', () => Promise.all(servers.map((s) => s.close(config.shutdownGraceMs)))],
    ['stop async dispatcher', () => dispatcher.close()],
    ['stop scaler', () => scaler.close()],
    ['release leadership', () => leadership.close()],
    ['flush shared activity', () => activitySync.close()],
    ['close http', () => app.close()],
    ['stop watching', () => orchestrator.close()],
    ['close store', () => store.close()],
    ['flush traces', () => tracing?.shutdown()],
  ];
  let shuttingDown: Promise<void> | undefined;
  return {
    url: servers[0]?.url ?? '',
    internalUrl: servers[1]?.url ?? '',
    shutdown() {
      ready = false;
      shuttingDown ??= runSteps(steps, logger);
      return shuttingDown;
    },
  };
}

/** Runs every step even when an earlier one failed; logs each failure once. */
export async function runSteps(
  steps: [string, () => Promise<unknown> | void][],
  logger: Logger,
): Promise<void> {
  for (const [name, step] of steps) {
    try {
      logger.debug({ step: name }, 'shutdown step');
      await step();
    } catch (error) {
      logger.error({ err: error, step: name }, 'shutdown step failed');
    }
  }
}
