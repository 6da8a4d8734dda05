import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Manifest, ManifestFunction } from './config/manifest.js';
import type { ServerConfig } from './config/read-config.js';
import { systemClock } from './core/clock.js';
import type { Logger } from './core/ports.js';
import type { App } from './http/create-app.js';
import { composeCore } from './compose-core.js';
import { startServer, type RunningServer } from './http/server.js';
import { LocalJobRunner } from './orchestrators/local-process/local-job-runner.js';
import { LocalProcessOrchestrator } from './orchestrators/local-process/local-process-orchestrator.js';
import { openStore } from './open-store.js';

export function createLogger(config: ServerConfig): Logger {
  return pino({ level: config.logLevel, base: { service: 'slimfaas' } });
}

export interface RunningSlimFaas {
  readonly url: string;
  /** Ordered, idempotent shutdown: stop accepting, drain, stop workers, stop replicas. */
  shutdown(): Promise<void>;
}

/**
 * `slimfaas up`: the composition root for local mode. The public entrypoint and the internal listener
 * listen first (replicas are told their URL), then the orchestrator starts the functions' initial
 * replicas, then the scaler runs.
 *
 * Two listeners, one app (docs/security.md): on the entrypoint every caller is external, since in local
 * mode nothing proves otherwise; the internal listener binds 127.0.0.1 on a random port and every caller
 * on it is internal. Trusted functions' replicas get the internal URL as `SLIMFAAS_URL`, Untrusted ones
 * (`SlimFaas/DefaultTrust: Untrusted`) the entrypoint's, so only the former reach private resources.
 */
export async function runUp(
  manifest: Manifest,
  config: ServerConfig,
  logger: Logger,
): Promise<RunningSlimFaas> {
  const stateDirectory = prepareStateDirectory(manifest);
  // The entrypoint listens before the app exists (replicas need its URL); until then it answers 503.
  const holder: { app?: App } = {};
  let ready = false;
  const handler =
    (listener: 'handle' | 'handleInternal') =>
    (req: IncomingMessage, res: ServerResponse): void => {
      if (holder.app !== undefined) holder.app[listener](req, res);
      else {
        res.writeHead(503, { 'retry-after': '1' });
        res.end('NOT_READY');
      }
    };
  const server: RunningServer = await startServer(handler('handle'), {
    host: config.host,
    port: manifest.cluster.entrypointPort,
  });
  const internalServer: RunningServer = await startServer(handler('handleInternal'), {
    host: '127.0.0.1',
    port: 0,
  }).catch(async (error: unknown) => {
    await server.close(0);
    throw error;
  });
  const clock = systemClock;
  const orchestrator = new LocalProcessOrchestrator({
    functions: manifest.functions.map((fn) =>
      withSlimFaasUrl(fn, fn.spec.defaultTrust === 'Trusted' ? internalServer.url : server.url),
    ),
    processPorts: manifest.processPorts,
    stateDirectory,
    logger,
    clock,
    stopGraceMs: config.shutdownGraceMs,
    ...(config.echoFunctionLogs ? { echoOutput: (line: string) => process.stdout.write(`${line}\n`) } : {}),
  });
  const { store, leadership } = await openStore(config, {
    embeddedDirectory: join(stateDirectory, 'store'),
    logger,
  }).catch(async (error: unknown) => {
    await Promise.all([server.close(0), internalServer.close(0)]);
    throw error;
  });
  if (config.jobsConfiguration.configurations.length > 0) {
    logger.warn(
      {},
      'SLIMFAAS_JOBS_CONFIGURATION is for slimfaas serve; in local mode jobs come from the manifest (jobs:)',
    );
  }
  // Jobs are internal callers: their processes get the internal listener's URL (reference §4.7).
  const jobRunner = new LocalJobRunner({
    jobs: manifest.jobs,
    stateDirectory,
    logger: logger.child({ component: 'local-job-runner' }),
    clock,
    environment: { SLIMFAAS_URL: internalServer.url },
    stopGraceMs: config.shutdownGraceMs,
    ...(config.echoFunctionLogs ? { echoOutput: (line: string) => process.stdout.write(`${line}\n`) } : {}),
  });
  const { scaler, dispatcher, activitySync, app, tracing, jobs } = composeCore({
    orchestrator,
    store,
    leadership,
    config,
    logger,
    clock,
    isReady: () => ready,
    jobs: { runner: jobRunner, configurations: manifest.jobs.map((job) => job.config) },
  });
  holder.app = app;
  await orchestrator.start();
  await activitySync.start();
  leadership.start();
  await jobRunner.start();
  scaler.start();
  dispatcher.start();
  jobs?.worker.start();
  jobs?.schedules.start();
  ready = true;

  let shuttingDown: Promise<void> | undefined;
  const steps: [string, () => Promise<void> | void][] = [
    [
      'stop accepting and drain',
      async () => {
        await Promise.all([
          server.close(config.shutdownGraceMs),
          internalServer.close(config.shutdownGraceMs),
        ]);
      },
    ],
    ['stop async dispatcher', () => dispatcher.close()],
    ['stop job schedules', () => jobs?.schedules.close()],
    ['release queued jobs', () => jobs?.worker.close()],
    ['stop scaler', () => scaler.close()],
    ['release leadership', () => leadership.close()],
    ['flush shared activity', () => activitySync.close()],
    ['close http', () => app.close()],
    ['stop job runs', () => jobRunner.close()],
    ['stop replicas', () => orchestrator.close()],
    ['close store', () => store.close()],
    ['remove ephemeral state', () => removeEphemeral(manifest, stateDirectory)],
    ['flush traces', () => tracing?.shutdown()],
  ];
  return {
    url: server.url,
    shutdown() {
      ready = false;
      shuttingDown ??= runSteps(steps, logger);
      return shuttingDown;
    },
  };
}

/**
 * The URL a function's replicas reach SlimFaas at. A `SLIMFAAS_URL` written in the manifest's
 * `environment` wins (the author chose it), as it did before the internal listener existed.
 */
export function withSlimFaasUrl(fn: ManifestFunction, url: string): ManifestFunction {
  return { ...fn, environment: { SLIMFAAS_URL: url, ...fn.environment } };
}

/** Runs every step even when an earlier one failed; logs each failure once. */
async function runSteps(steps: [string, () => Promise<void> | void][], logger: Logger): Promise<void> {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (error) {
      logger.error({ err: error, step: name }, 'shutdown step failed');
    }
  }
}

export function prepareStateDirectory(manifest: Manifest): string {
  if (manifest.state.mode === 'ephemeral') return mkdtempSync(join(tmpdir(), `slimfaas-${manifest.name}-`));
  mkdirSync(manifest.state.directory, { recursive: true });
  return manifest.state.directory;
}

export function removeEphemeral(manifest: Manifest, directory: string): void {
  if (manifest.state.mode === 'ephemeral') rmSync(directory, { recursive: true, force: true });
}
