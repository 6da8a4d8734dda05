import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Manifest } from './config/manifest.js';
import type { ServerConfig } from './config/read-config.js';
import { ActivityTracker } from './core/activity.js';
import { systemClock } from './core/clock.js';
import type { Logger } from './core/ports.js';
import { createApp, type App } from './http/create-app.js';
import { startServer, type RunningServer } from './http/server.js';
import { LocalProcessOrchestrator } from './orchestrators/local-process/local-process-orchestrator.js';
import { ScalerWorker } from './workers/scaler-worker.js';

export function createLogger(config: ServerConfig): Logger {
  return pino({ level: config.logLevel, base: { service: 'slimfaas' } });
}

export interface RunningSlimFaas {
  readonly url: string;
  /** Ordered, idempotent shutdown: stop accepting, drain, stop workers, stop replicas. */
  shutdown(): Promise<void>;
}

/**
 * `slimfaas up`: the composition root for local mode. The entrypoint listens first (so replicas can be
 * told its URL), then the orchestrator starts the functions' initial replicas, then the scaler runs.
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
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (holder.app !== undefined) holder.app.handle(req, res);
    else {
      res.writeHead(503, { 'retry-after': '1' });
      res.end('NOT_READY');
    }
  };
  const server: RunningServer = await startServer(handler, {
    host: config.host,
    port: manifest.cluster.entrypointPort,
  });
  const clock = systemClock;
  const activity = new ActivityTracker(clock);
  const orchestrator = new LocalProcessOrchestrator({
    functions: manifest.functions,
    processPorts: manifest.processPorts,
    stateDirectory,
    logger,
    clock,
    environment: { SLIMFAAS_URL: server.url },
    stopGraceMs: config.shutdownGraceMs,
    ...(config.echoFunctionLogs ? { echoOutput: (line: string) => process.stdout.write(`${line}\n`) } : {}),
  });
  const scaler = new ScalerWorker({
    orchestrator,
    activity,
    clock,
    logger: logger.child({ component: 'scaler' }),
    intervalMs: config.scaleIntervalMs,
    scaledUpByDefaultWhenNeverCalled: config.podScaledUpByDefaultWhenInfrastructureHasNeverCalled,
  });
  const app = createApp({
    orchestrator,
    activity,
    waker: scaler,
    logger: logger.child({ component: 'http' }),
    clock,
    settings: {
      maxHeldRequestsPerFunction: config.maxHeldRequestsPerFunction,
      maxRequestBodyBytes: config.maxRequestBodyBytes,
      requestLogLevel: config.requestLogLevel,
    },
    isReady: () => ready,
  });
  holder.app = app;
  await orchestrator.start();
  scaler.start();
  ready = true;

  let shuttingDown: Promise<void> | undefined;
  const steps: [string, () => Promise<void> | void][] = [
    ['stop accepting and drain', () => server.close(config.shutdownGraceMs)],
    ['stop scaler', () => scaler.close()],
    ['close http', () => app.close()],
    ['stop replicas', () => orchestrator.close()],
    ['remove ephemeral state', () => removeEphemeral(manifest, stateDirectory)],
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

function prepareStateDirectory(manifest: Manifest): string {
  if (manifest.state.mode === 'ephemeral') return mkdtempSync(join(tmpdir(), `slimfaas-${manifest.name}-`));
  mkdirSync(manifest.state.directory, { recursive: true });
  return manifest.state.directory;
}

function removeEphemeral(manifest: Manifest, directory: string): void {
  if (manifest.state.mode === 'ephemeral') rmSync(directory, { recursive: true, force: true });
}
