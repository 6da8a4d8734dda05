import type { ServerConfig } from './config/read-config.js';
import { ActivityTracker } from './core/activity.js';
import type { Clock } from './core/clock.js';
import type { Logger, Orchestrator } from './core/ports.js';
import type { StateStore } from './core/state-store.js';
import type { CallerPolicy } from './http/caller-policy.js';
import { createApp, type App } from './http/create-app.js';
import { SlimFaasMetrics } from './http/metrics.js';
import type { JobRunner } from './core/job-runner.js';
import type { JobConfiguration } from './core/job-spec.js';
import { AsyncDispatcher } from './workers/async-dispatcher.js';
import { JobSchedules } from './workers/job-schedules.js';
import { JobWorker } from './workers/job-worker.js';
import { ScalerWorker } from './workers/scaler-worker.js';

/** What every mode runs on top of its orchestrator and store. */
export interface Core {
  readonly scaler: ScalerWorker;
  readonly dispatcher: AsyncDispatcher;
  readonly app: App;
  /** Present when `jobs` was given: start both after the runner, close them before it. */
  readonly jobs?: { readonly worker: JobWorker; readonly schedules: JobSchedules };
}

/** Jobs for `composeCore`: where runs execute (local processes, Kubernetes Jobs) and the configurations. */
export interface CoreJobs {
  readonly runner: JobRunner;
  readonly configurations: readonly JobConfiguration[];
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
  /** Without it, the job routes answer 404 and no job worker runs. */
  readonly jobs?: CoreJobs;
}): Core {
  const { orchestrator, store, config, logger, clock } = options;
  const activity = new ActivityTracker(clock);
  const scaler = new ScalerWorker({
    orchestrator,
    activity,
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
    clock,
    logger: logger.child({ component: 'async' }),
  });
  const jobs =
    options.jobs === undefined
      ? undefined
      : composeJobs({ ...options, jobs: options.jobs, activity, waker: scaler });
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
    ...(jobs === undefined
      ? {}
      : {
          jobs: {
            configurations: new Map(options.jobs?.configurations.map((c) => [c.name, c])),
            board: jobs.worker,
            schedules: jobs.schedules,
            clock,
            logger: logger.child({ component: 'jobs' }),
          },
        }),
    isReady: options.isReady,
  });
  return { scaler, dispatcher, app, ...(jobs === undefined ? {} : { jobs }) };
}

function composeJobs(options: {
  readonly orchestrator: Orchestrator;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly activity: ActivityTracker;
  readonly waker: ScalerWorker;
  readonly jobs: CoreJobs;
}): { worker: JobWorker; schedules: JobSchedules } {
  const { store, clock, jobs } = options;
  const logger = options.logger.child({ component: 'jobs' });
  const worker = new JobWorker({
    store,
    runner: jobs.runner,
    orchestrator: options.orchestrator,
    waker: options.waker,
    activity: options.activity,
    clock,
    logger,
    configurations: jobs.configurations,
  });
  const schedules = new JobSchedules({
    store,
    board: worker,
    clock,
    logger,
    configurations: jobs.configurations,
  });
  return { worker, schedules };
}
