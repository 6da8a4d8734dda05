import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { ServerConfig } from './config/read-config.js';
import { normalizeIp } from './core/caller.js';
import { systemClock } from './core/clock.js';
import type { JobRunner } from './core/job-runner.js';
import type { Logger, Orchestrator } from './core/ports.js';
import type { FunctionState } from './core/topology.js';
import { ipCallerPolicy } from './http/caller-policy.js';
import { startServer, type RunningServer } from './http/server.js';
import { createKubernetesJobRunner, KubernetesOrchestrator } from './orchestrators/kubernetes/index.js';
import { composeCore } from './compose-core.js';
import { openStore } from './open-store.js';

export interface RunningServe {
  /** One URL per `SLIMFAAS_PORTS` entry. */
  readonly urls: readonly string[];
  /** Ordered, idempotent shutdown: stop accepting, drain, stop workers, stop watching. */
  shutdown(): Promise<void>;
}

/**
 * In-cluster service account by default (token, CA and namespace files under
 * `SLIMFAAS_IN_CLUSTER_PATH_PREFIX` + `/var/run/secrets/kubernetes.io/serviceaccount/`, API address from
 * `KUBERNETES_SERVICE_HOST`/`_PORT`, read by the client library); the kubeconfig file named by
 * `KUBECONFIG` when set.
 */
export function loadKubeConfig(config: ServerConfig): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig === '') kubeConfig.loadFromCluster(config.inClusterPathPrefix);
  else kubeConfig.loadFromFile(config.kubeconfig);
  return kubeConfig;
}

/**
 * `NAMESPACE` when set; otherwise the namespace of the current context: in-cluster, the service
 * account's namespace file; with a kubeconfig, the context's `namespace`; else `default`.
 */
export function functionsNamespace(config: ServerConfig, kubeConfig: KubeConfig): string {
  if (config.namespace !== '') return config.namespace;
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  const fromContext = context?.namespace?.trim() ?? '';
  return fromContext === '' ? 'default' : fromContext;
}

/**
 * `slimfaas serve`: the composition root for Kubernetes (server) mode. The orchestrator lists and
 * watches the namespace first (so the first request already sees every function), then the
 * listeners open on every `SLIMFAAS_PORTS` port, then the scaler and the async dispatcher run.
 *
 * Callers are classified by IP (reference §4.7): the pods of Trusted functions are internal.
 * The store is chosen by `SLIMFAAS_STORE`. Embedded (default; single writer: one SlimFaas replica), it
 * lives in `SLIMFAAS_STATE_DIRECTORY` when set, so accepted async requests survive a restart; otherwise in
 * a temporary directory removed at shutdown. NATS JetStream is the multi-replica option.
 */
export async function runServe(
  config: ServerConfig,
  kubeConfig: KubeConfig,
  logger: Logger,
  options: ServeOptions = {},
): Promise<RunningServe> {
  const clock = systemClock;
  for (const problem of config.jobsConfiguration.problems) {
    logger.error(
      { setting: 'SLIMFAAS_JOBS_CONFIGURATION' },
      `SLIMFAAS_JOBS_CONFIGURATION: ${problem}; this job is left out`,
    );
  }
  const jobConfigurations = config.jobsConfiguration.configurations;
  // Jobs run as batch/v1 Jobs in SlimFaas's namespace, only when some are configured (the Role's job verbs).
  const jobRunner =
    options.jobRunner ??
    (jobConfigurations.length === 0
      ? undefined
      : createKubernetesJobRunner({
          kubeConfig,
          namespace: functionsNamespace(config, kubeConfig),
          logger: logger.child({ component: 'kubernetes-jobs' }),
          clock,
        }));
  const orchestrator = new KubernetesOrchestrator({
    kubeConfig,
    namespace: functionsNamespace(config, kubeConfig),
    functionUrlTemplate: config.baseFunctionUrl,
    podUrlTemplate: config.baseFunctionPodUrl,
    logger,
  });
  await orchestrator.start().catch(async (error: unknown) => {
    await orchestrator.close();
    throw error;
  });
  const state =
    config.store.kind === 'embedded'
      ? stateDirectory(config, logger)
      : { storeDirectory: '', remove: () => undefined };
  const { store, leadership } = await openStore(config, {
    embeddedDirectory: state.storeDirectory,
    logger,
  }).catch(async (error: unknown) => {
    await orchestrator.close();
    state.remove();
    throw error;
  });
  let ready = false;
  const { scaler, dispatcher, activitySync, app, tracing, jobs } = composeCore({
    orchestrator,
    store,
    leadership,
    config,
    logger,
    clock,
    isReady: () => ready,
    isInternalCaller: ipCallerPolicy({
      trustedIps: trustedPodIps(orchestrator, config.podIps, jobRunner),
      trustedProxies: config.trustedProxies,
    }),
    ...(jobRunner === undefined ? {} : { jobs: { runner: jobRunner, configurations: jobConfigurations } }),
  });
  const servers: RunningServer[] = [];
  const closeServers = (graceMs: number): Promise<unknown> =>
    Promise.all(servers.map((server) => server.close(graceMs)));
  const closeAll = async (): Promise<void> => {
    await closeServers(0);
    await app.close();
    await Promise.allSettled([orchestrator.close(), store.close()]);
    state.remove();
  };
  try {
    for (const port of config.slimfaasPorts) {
      servers.push(await startServer(app.handle, { host: config.host, port }));
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  await activitySync.start();
  leadership.start();
  scaler.start();
  dispatcher.start();
  if (jobRunner !== undefined && jobs !== undefined) {
    await jobRunner.start();
    jobs.worker.start();
    jobs.schedules.start();
  }
  ready = true;

  const steps: [string, () => Promise<unknown> | void][] = [
    ['stop accepting and drain', () => closeServers(config.shutdownGraceMs)],
    ['stop async dispatcher', () => dispatcher.close()],
    ['stop job schedules', () => jobs?.schedules.close()],
    ['release queued jobs', () => jobs?.worker.close()],
    ['stop scaler', () => scaler.close()],
    ['release leadership', () => leadership.close()],
    ['flush shared activity', () => activitySync.close()],
    ['close http', () => app.close()],
    ['stop watching jobs', () => jobRunner?.close()],
    ['stop watching', () => orchestrator.close()],
    ['close store', () => store.close()],
    ['flush traces', () => tracing?.shutdown()],
    ['remove temporary state directory', () => state.remove()],
  ];
  let shuttingDown: Promise<void> | undefined;
  return {
    urls: servers.map((server) => server.url),
    shutdown() {
      ready = false;
      shuttingDown ??= runSteps(steps, logger);
      return shuttingDown;
    },
  };
}

/**
 * The seam for Kubernetes jobs: `cli.ts` passes a `KubernetesJobRunner` (batch/v1 Jobs) here; without one,
 * `SLIMFAAS_JOBS_CONFIGURATION` is read but no job runs.
 */
export interface ServeOptions {
  readonly jobRunner?: JobRunner;
}

interface StateDirectory {
  readonly storeDirectory: string;
  /** Removes a temporary directory; keeps a configured one (that is the point of configuring it). */
  remove(): void;
}

/**
 * `SLIMFAAS_STATE_DIRECTORY` holds the store as is (EmbeddedStateStore creates it if missing), so a
 * restarted pod with the same volume reopens the same queue. Unset: a fresh temp directory, and one
 * warning, because what was accepted but not yet delivered is then lost with the pod.
 */
function stateDirectory(config: ServerConfig, logger: Logger): StateDirectory {
  if (config.stateDirectory !== '') {
    return { storeDirectory: config.stateDirectory, remove: () => undefined };
  }
  const directory = mkdtempSync(join(tmpdir(), 'slimfaas-serve-'));
  logger.warn(
    { stateDirectory: directory },
    'SLIMFAAS_STATE_DIRECTORY is not set: the store is in a temporary directory and queued async requests will not survive a restart',
  );
  return {
    storeDirectory: join(directory, 'store'),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/**
 * Pods of Trusted functions, SlimFaas's own pods (`POD_IP`) and the pods of job runs: the internal callers on
 * Kubernetes (reference §4.7). Recomputed only when a snapshot changes.
 */
function trustedPodIps(
  orchestrator: Orchestrator,
  slimfaasIps: readonly string[],
  jobRunner: JobRunner | undefined,
): () => ReadonlySet<string> {
  const own = slimfaasIps.map((ip) => normalizeIp(ip)).filter((ip): ip is string => ip !== undefined);
  let seen: ReadonlyMap<string, FunctionState> | undefined;
  let seenRuns: unknown;
  let ips: ReadonlySet<string> = new Set();
  return () => {
    const snapshot = orchestrator.functions();
    const runs = jobRunner?.runs();
    if (snapshot !== seen || runs !== seenRuns) {
      seen = snapshot;
      seenRuns = runs;
      const jobIps = [...(runs?.values() ?? [])].flatMap((run) => run.ips.map((ip) => normalizeIp(ip)));
      ips = new Set(
        [...snapshot.values()]
          .filter((fn) => fn.spec.defaultTrust === 'Trusted')
          .flatMap((fn) => fn.replicas.map((r) => normalizeIp(r.ip)))
          .concat(jobIps)
          .filter((ip): ip is string => ip !== undefined)
          .concat(own),
      );
    }
    return ips;
  };
}

/** Runs every step even when an earlier one failed; logs each failure once. */
async function runSteps(steps: [string, () => Promise<unknown> | void][], logger: Logger): Promise<void> {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (error) {
      logger.error({ err: error, step: name }, 'shutdown step failed');
    }
  }
}
