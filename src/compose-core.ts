import type { ServerConfig } from './config/read-config.js';
import { ActivityTracker } from './core/activity.js';
import type { Clock } from './core/clock.js';
import type { Logger, Orchestrator } from './core/ports.js';
import type { StateStore } from './core/state-store.js';
import type { CallerPolicy } from './http/caller-policy.js';
import { createApp, type App } from './http/create-app.js';
import { SlimFaasMetrics } from './http/metrics.js';
import { AsyncDispatcher } from './workers/async-dispatcher.js';
import { startTracing, type Tracing } from './tracing.js';
import { ScalerWorker } from './workers/scaler-worker.js';

/** What every mode runs on top of its orchestrator and store. */
export interface Core {
  readonly scaler: ScalerWorker;
  readonly dispatcher: AsyncDispatcher;
  readonly app: App;
  /** OpenTelemetry tracing, when an OTLP endpoint is configured: flush it last at shutdown. */
  readonly tracing: Tracing | undefined;
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
}): Core {
  const { orchestrator, store, config, logger, clock } = options;
  const activity = new ActivityTracker(clock);
  const scaler: ScalerWorker = new ScalerWorker({
    orchestrator,
    activity,
    clock,
    logger: logger.child({ component: 'scaler' }),
    intervalMs: config.scaleIntervalMs,
    scaledUpByDefaultWhenNeverCalled: config.podScaledUpByDefaultWhenInfrastructureHasNeverCalled,
    // Called only once the scaler runs, after the dispatcher below exists.
    queued: (name: string): boolean => dispatcher.hasQueuedWork(name),
  });
  const dispatcher: AsyncDispatcher = new AsyncDispatcher({
    store,
    orchestrator,
    waker: scaler,
    activity,
    clock,
    logger: logger.child({ component: 'async' }),
  });
  const tracing = startTracing(config, logger);
  const app = createApp({
    async: { store, callbacks: dispatcher, maxBodyBytes: config.asyncMaxBodyBytes },
    metrics: new SlimFaasMetrics({ orchestrator, store }),
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
    ...(tracing === undefined ? {} : { tracer: tracing.tracer }),
  });
  return { scaler, dispatcher, app, tracing };
}
