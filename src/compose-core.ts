import type { ServerConfig } from './config/read-config.js';
import { ActivityFeed } from './core/activity-feed.js';
import { ActivityTracker } from './core/activity.js';
import type { Clock } from './core/clock.js';
import type { Leadership } from './core/leadership.js';
import type { Logger, Orchestrator, Waker } from './core/ports.js';
import type { StateStore } from './core/state-store.js';
import type { CallerPolicy } from './http/caller-policy.js';
import { createApp, type App } from './http/create-app.js';
import { jobsStatus, type JobRouteDeps } from './http/routes/job-routes.js';
import { SlimFaasMetrics } from './http/metrics.js';
import { ActivitySync } from './workers/activity-sync.js';
import { StaticFiles, DEFAULT_UI_DIRECTORY } from './http/static-files.js';
import { StatusStream } from './http/status-stream.js';
import type { SlimFaasNode } from './http/status-payload.js';
import { AsyncDispatcher } from './workers/async-dispatcher.js';
import { startTracing, type Tracing } from './tracing.js';
import type { JobRunner } from './core/job-runner.js';
import type { JobConfiguration } from './core/job-spec.js';
import { JobSchedules } from './workers/job-schedules.js';
import { JobWorker } from './workers/job-worker.js';
import { ScalerWorker } from './workers/scaler-worker.js';

/** What every mode runs on top of its orchestrator and store. */
export interface Core {
  readonly scaler: ScalerWorker;
  readonly dispatcher: AsyncDispatcher;
  /** Shares activity with the other replicas; the `Waker` of the routes and the dispatcher. */
  readonly activitySync: ActivitySync;
  /** This node's view of activity: its own requests, merged with its peers'. */
  readonly activity: ActivityTracker;
  /** Which node leads (the one that scales and dispatches): for status, the dashboard and later workers. */
  readonly leadership: Leadership;
  readonly app: App;
  /** What SlimFaas does, as it happens (status stream, observers). */
  readonly feed: ActivityFeed;
  /** `notifyChange()` after a change the stream cannot see itself (a job run). */
  readonly statusStream: StatusStream;
  /** OpenTelemetry tracing, when an OTLP endpoint is configured: flush it last at shutdown. */
  readonly tracing: Tracing | undefined;
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
 * same way for `slimfaas up` (main.ts) and `slimfaas serve` (serve.ts). Nothing is started here; start in
 * this order: `await activitySync.start()` (a new leader must know the shared activity before it scales),
 * `leadership.start()`, `scaler.start()`, `dispatcher.start()`.
 *
 * Only the leader scales and dispatches. Gaining leadership runs the scaler and a dispatch pass at once; losing
 * it runs a pass at once, which abandons the attempts in flight (their leases expire; the new leader
 * redelivers them).
 */
export function composeCore(options: {
  readonly orchestrator: Orchestrator;
  readonly store: StateStore;
  readonly leadership: Leadership;
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly isReady: () => boolean;
  readonly isInternalCaller?: CallerPolicy;
  /** Without it, the job routes answer 404 and no job worker runs. */
  readonly jobs?: CoreJobs;
  /** The status stream's `SlimFaasNodes`; without it, this node and the leader it knows. */
  readonly nodes?: () => readonly SlimFaasNode[] | Promise<readonly SlimFaasNode[]>;
}): Core {
  const { orchestrator, store, leadership, config, logger, clock } = options;
  const isLeader = () => leadership.isLeader();
  const activity = new ActivityTracker(clock);
  const feed = new ActivityFeed({
    clock,
    onListenerError: (error) => logger.error({ err: error }, 'activity feed listener failed'),
  });
  const scaler: ScalerWorker = new ScalerWorker({
    orchestrator,
    activity,
    feed,
    clock,
    logger: logger.child({ component: 'scaler' }),
    intervalMs: config.scaleIntervalMs,
    scaledUpByDefaultWhenNeverCalled: config.podScaledUpByDefaultWhenInfrastructureHasNeverCalled,
    // Called only once the scaler runs, after the dispatcher below exists.
    queued: (name: string): boolean => dispatcher.hasQueuedWork(name),
    isLeader,
  });
  const activitySync = new ActivitySync({
    store,
    activity,
    scaler,
    orchestrator,
    leadership,
    clock,
    logger: logger.child({ component: 'activity' }),
  });
  const dispatcher: AsyncDispatcher = new AsyncDispatcher({
    store,
    orchestrator,
    waker: activitySync,
    activity,
    feed,
    clock,
    logger: logger.child({ component: 'async' }),
    safetyIntervalMs: config.asyncSafetyIntervalMs,
    isLeader,
  });
  leadership.subscribe((leader) => {
    if (leader) scaler.evaluateSoon();
    void dispatcher.runPass();
  });
  const tracing = startTracing(config, logger);
  const jobs =
    options.jobs === undefined
      ? undefined
      : composeJobs({ ...options, jobs: options.jobs, activity, waker: activitySync, isLeader });
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
    nodeId: leadership.nodeId,
    isReady: options.isReady,
    ...(jobs === undefined ? {} : { jobs: () => jobsStatus(jobs.routes) }),
    nodes: options.nodes ?? (() => nodesOf(leadership)),
  });
  options.jobs?.runner.subscribe(() => statusStream.notifyChange());
  const app = createApp({
    async: { store, callbacks: dispatcher, maxBodyBytes: config.asyncMaxBodyBytes },
    metrics: new SlimFaasMetrics({ orchestrator, store }),
    feed,
    statusStream,
    ui: StaticFiles.load(DEFAULT_UI_DIRECTORY),
    orchestrator,
    activity,
    waker: activitySync,
    logger: logger.child({ component: 'http' }),
    clock,
    settings: {
      maxHeldRequestsPerFunction: config.maxHeldRequestsPerFunction,
      maxRequestBodyBytes: config.maxRequestBodyBytes,
      maxWaitForReplicaMs: config.maxWaitForReplicaMs,
      requestLogLevel: config.requestLogLevel,
      externalSubscribers: config.subscribeEvents,
    },
    ...(options.isInternalCaller === undefined ? {} : { isInternalCaller: options.isInternalCaller }),
    ...(jobs === undefined ? {} : { jobs: jobs.routes }),
    isReady: options.isReady,
    ...(tracing === undefined ? {} : { tracer: tracing.tracer }),
  });
  return {
    scaler,
    dispatcher,
    activitySync,
    activity,
    leadership,
    app,
    tracing,
    feed,
    statusStream,
    ...(jobs === undefined ? {} : { jobs }),
  };
}

function composeJobs(options: {
  readonly orchestrator: Orchestrator;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly activity: ActivityTracker;
  readonly waker: Waker;
  readonly isLeader: () => boolean;
  readonly jobs: CoreJobs;
}): { worker: JobWorker; schedules: JobSchedules; routes: JobRouteDeps } {
  const { store, clock, jobs } = options;
  const logger = options.logger.child({ component: 'jobs' });
  const worker = new JobWorker({
    store,
    runner: jobs.runner,
    orchestrator: options.orchestrator,
    waker: options.waker,
    isLeader: options.isLeader,
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
  const routes: JobRouteDeps = {
    configurations: new Map(jobs.configurations.map((c) => [c.name, c])),
    board: worker,
    schedules,
    clock,
    logger,
  };
  return { worker, schedules, routes };
}

/** This node and, when another node leads, the leader it last observed. */
function nodesOf(leadership: Leadership): readonly SlimFaasNode[] {
  const self = { id: leadership.nodeId, leader: leadership.isLeader(), ready: true };
  const leaderId = leadership.leaderId();
  if (leaderId === undefined || leaderId === self.id) return [self];
  return [self, { id: leaderId, leader: true, ready: true }];
}
