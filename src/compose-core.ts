import { hostname } from 'node:os';
import type { ServerConfig } from './config/read-config.js';
import { ActivityFeed } from './core/activity-feed.js';
import { ActivityTracker } from './core/activity.js';
import type { Clock } from './core/clock.js';
import type { Logger, Orchestrator } from './core/ports.js';
import type { StateStore } from './core/state-store.js';
import type { CallerPolicy } from './http/caller-policy.js';
import { createApp, type App } from './http/create-app.js';
import { SlimFaasMetrics } from './http/metrics.js';
import { StaticFiles, DEFAULT_UI_DIRECTORY } from './http/static-files.js';
import { StatusStream } from './http/status-stream.js';
import type { SlimFaasNode } from './http/status-payload.js';
import { AsyncDispatcher } from './workers/async-dispatcher.js';
import { ScalerWorker } from './workers/scaler-worker.js';

/** What every mode runs on top of its orchestrator and store. */
export interface Core {
  readonly scaler: ScalerWorker;
  readonly dispatcher: AsyncDispatcher;
  readonly app: App;
  /** What SlimFaas does, as it happens (status stream, observers). */
  readonly feed: ActivityFeed;
  /** `notifyChange()` after a change the stream cannot see itself (a job run). */
  readonly statusStream: StatusStream;
}

/**
 * Wires the mode-independent parts — activity, scaler, async dispatcher, metrics and the HTTP app — the
 * same way for `slimfaas up` (main.ts) and `slimfaas serve` (serve.ts). Nothing is started here.
 */
export function composeCore(options: {
  readonly orchestrator: Orchestrator;
  readonly store: StateStore;
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly isReady: () => boolean;
  readonly isInternalCaller?: CallerPolicy;
  /** The status stream's `Jobs` (SlimFaas's `JobConfigurationStatus[]`); empty without it. */
  readonly jobs?: () => Promise<unknown>;
  /** The status stream's `SlimFaasNodes`; without it, this process alone as leader. */
  readonly nodes?: () => readonly SlimFaasNode[] | Promise<readonly SlimFaasNode[]>;
}): Core {
  const { orchestrator, store, config, logger, clock } = options;
  const activity = new ActivityTracker(clock);
  const feed = new ActivityFeed({
    clock,
    onListenerError: (error) => logger.error({ err: error }, 'activity feed listener failed'),
  });
  const scaler = new ScalerWorker({
    orchestrator,
    activity,
    feed,
    clock,
    logger: logger.child({ component: 'scaler' }),
    intervalMs: config.scaleIntervalMs,
    scaledUpByDefaultWhenNeverCalled: config.podScaledUpByDefaultWhenInfrastructureHasNeverCalled,
  });
  const dispatcher = new AsyncDispatcher({
    store,
    orchestrator,
    waker: scaler,
    activity,
    feed,
    clock,
    logger: logger.child({ component: 'async' }),
  });
  const statusStream = new StatusStream({
    orchestrator,
    activity,
    feed,
    store,
    clock,
    logger: logger.child({ component: 'status-stream' }),
    settings: {
      maxClients: config.statusStreamMaxClients,
      stateIntervalMs: config.statusStreamIntervalMs,
      changeDelayMs: config.statusStreamChangeDelayMs,
    },
    scaledUpByDefaultWhenNeverCalled: config.podScaledUpByDefaultWhenInfrastructureHasNeverCalled,
    nodeId: `${hostname()}-${process.pid}`,
    isReady: options.isReady,
    jobs: options.jobs,
    nodes: options.nodes,
  });
  const app = createApp({
    async: { store, callbacks: dispatcher, maxBodyBytes: config.asyncMaxBodyBytes },
    metrics: new SlimFaasMetrics({ orchestrator, store }),
    feed,
    statusStream,
    ui: StaticFiles.load(DEFAULT_UI_DIRECTORY),
    orchestrator,
    activity,
    waker: scaler,
    logger: logger.child({ component: 'http' }),
    clock,
    settings: {
      maxHeldRequestsPerFunction: config.maxHeldRequestsPerFunction,
      maxRequestBodyBytes: config.maxRequestBodyBytes,
      requestLogLevel: config.requestLogLevel,
      externalSubscribers: config.subscribeEvents,
    },
    ...(options.isInternalCaller === undefined ? {} : { isInternalCaller: options.isInternalCaller }),
    isReady: options.isReady,
  });
  return { scaler, dispatcher, app, feed, statusStream };
}
