import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../config/manifest.js';
import type { ServerConfig } from '../config/read-config.js';
import { systemClock } from '../core/clock.js';
import type { Logger } from '../core/ports.js';
import { startServer } from '../http/server.js';
import { SupervisorApi } from '../http/supervisor-api.js';
import { prepareStateDirectory, removeEphemeral, withSlimFaasUrl, type RunningSlimFaas } from '../main.js';
import { LocalProcessOrchestrator } from '../orchestrators/local-process/index.js';
import { ProcessGroupWatchdog } from '../orchestrators/local-process/process-group-watchdog.js';
import { freePort } from './free-port.js';
import { findNatsServer, startNatsCluster } from './nats-cluster.js';
import { NodeHealth } from './node-health.js';
import { runSteps } from './run-node.js';
import { SupervisedProcess } from './supervised-process.js';
import { TcpBalancer } from './tcp-balancer.js';

const NODE_CHECK_INTERVAL_MS = 500;
const NATS_READY_TIMEOUT_MS = 30_000;
const NODES_READY_TIMEOUT_MS = 60_000;

type Step = [string, () => Promise<unknown> | void];

interface ClusterNode {
  readonly name: string;
  /** Its public listener (behind the entrypoint). */
  readonly port: number;
  /** Its internal listener (behind the internal balancer). */
  readonly internalPort: number;
}

/**
 * `slimfaas up` with `cluster.nodes` > 1 (reference §6 "What `up` does"). This process is the
 * supervisor: it runs the functions (LocalProcessOrchestrator) and serves them to the nodes on the
 * loopback, token-protected control API; it runs a NATS JetStream cluster of `nodes` servers and
 * `nodes` SlimFaas node processes (`slimfaas node`) sharing it; the entrypoint balances TCP
 * connections over the nodes whose `/ready` answers 200. A second, loopback-only balancer over the
 * nodes' internal listeners is the `SLIMFAAS_URL` of Trusted functions (docs/security.md).
 * Nodes and NATS servers are restarted if they die, and die with the supervisor (process-group watchdog).
 */
export async function runClusterUp(
  manifest: Manifest,
  config: ServerConfig,
  logger: Logger,
): Promise<RunningSlimFaas> {
  findNatsServer(process.env.PATH);
  const stateDirectory = prepareStateDirectory(manifest);
  mkdirSync(join(stateDirectory, 'logs'), { recursive: true });
  const undo: Step[] = [];
  try {
    return await start({ manifest, config, logger, stateDirectory, undo });
  } catch (error) {
    await runSteps(undo.reverse(), logger);
    removeEphemeral(manifest, stateDirectory);
    throw error;
  }
}

interface StartContext {
  readonly manifest: Manifest;
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly stateDirectory: string;
  /** Cleanup of what has started so far, in start order. */
  readonly undo: Step[];
}

async function start(context: StartContext): Promise<RunningSlimFaas> {
  const { manifest, config, logger, stateDirectory, undo } = context;
  const count = manifest.cluster.nodes;
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push({ name: `slimfaas-${i}`, port: await freePort(), internalPort: await freePort() });
  }
  const health = new NodeHealth({ nodes, intervalMs: NODE_CHECK_INTERVAL_MS });
  const isHealthy = (backend: { name: string }): boolean => health.isHealthy(backend.name);
  const entrypoint = await TcpBalancer.listen({
    host: config.host,
    port: manifest.cluster.entrypointPort,
    logger,
    isHealthy,
  });
  undo.push(['close entrypoint', () => entrypoint.close(0)]);
  const internal = await TcpBalancer.listen({ host: '127.0.0.1', port: 0, logger, isHealthy });
  undo.push(['close internal balancer', () => internal.close(0)]);
  entrypoint.setBackends(nodes.map((n) => ({ name: n.name, port: n.port })));
  internal.setBackends(nodes.map((n) => ({ name: n.name, port: n.internalPort })));

  const echoOutput = config.echoFunctionLogs
    ? (line: string) => process.stdout.write(`${line}\n`)
    : undefined;
  const local = new LocalProcessOrchestrator({
    functions: manifest.functions.map((fn) =>
      withSlimFaasUrl(fn, fn.spec.defaultTrust === 'Trusted' ? internal.url : entrypoint.url),
    ),
    processPorts: manifest.processPorts,
    stateDirectory,
    logger,
    clock: systemClock,
    stopGraceMs: config.shutdownGraceMs,
    ...(echoOutput === undefined ? {} : { echoOutput }),
  });
  undo.push(['stop replicas', () => local.close()]);
  await local.start();

  const token = randomBytes(32).toString('base64url');
  const api = new SupervisorApi({
    orchestrator: local,
    token,
    logger: logger.child({ component: 'supervisor' }),
  });
  undo.push(['close supervisor API', () => api.close()]);
  const apiServer = await startServer(api.handle, { host: '127.0.0.1', port: 0 });
  undo.push(['stop supervisor API', () => apiServer.close(0)]);

  const watchdog = ProcessGroupWatchdog.start({ graceMs: config.shutdownGraceMs, logger });
  undo.push(['stop watchdog', () => watchdog.close()]);
  const nats = await startNatsCluster({
    nodes: count,
    name: manifest.name,
    stateDirectory,
    watchdog,
    logger,
    stopGraceMs: config.shutdownGraceMs,
    readyTimeoutMs: NATS_READY_TIMEOUT_MS,
  });
  undo.push(['stop NATS', () => nats.stop()]);

  const [script = ''] = process.argv.slice(1);
  const startNode = (node: ClusterNode): SupervisedProcess =>
    new SupervisedProcess({
      name: node.name,
      command: [process.execPath, ...process.execArgv, script, 'node'],
      env: {
        ...process.env,
        HOSTNAME: node.name,
        SLIMFAAS_SUPERVISOR_URL: apiServer.url,
        SLIMFAAS_SUPERVISOR_TOKEN: token,
        SLIMFAAS_PORTS: String(node.port),
        SLIMFAAS_INTERNAL_PORT: String(node.internalPort),
        SLIMFAAS_STORE: nats.storeSetting,
        SLIMFAAS_NATS_REPLICAS: String(count),
      },
      logFile: join(stateDirectory, 'logs', `${node.name}.log`),
      watchdog,
      logger,
      stopGraceMs: config.shutdownGraceMs + 2000,
      echoOutput,
    });
  // The first node creates the JetStream streams and buckets alone; nodes racing to create them on a
  // fresh cluster time out and restart (measured: +10 s), so the others start once it is ready.
  const processes: SupervisedProcess[] = [];
  const stopNodes = (): Promise<unknown> => Promise.all(processes.map((p) => p.stop()));
  undo.push(['stop nodes', stopNodes]);
  health.start();
  undo.push(['stop node checks', () => health.close()]);
  const [first, ...others] = nodes;
  if (first !== undefined) processes.push(startNode(first));
  await waitForNodes(health, 1, logger);
  for (const node of others) processes.push(startNode(node));
  await waitForNodes(health, count, logger);

  const steps: Step[] = [
    ['stop accepting', () => Promise.all([entrypoint.close(config.shutdownGraceMs), internal.close(0)])],
    ['stop node checks', () => health.close()],
    ['stop nodes', stopNodes],
    ['stop NATS', () => nats.stop()],
    ['close supervisor API', () => api.close()],
    ['stop supervisor API', () => apiServer.close(0)],
    ['stop replicas', () => local.close()],
    ['stop watchdog', () => watchdog.close()],
    ['remove ephemeral state', () => removeEphemeral(manifest, stateDirectory)],
  ];
  let shuttingDown: Promise<void> | undefined;
  return {
    url: entrypoint.url,
    shutdown() {
      // Once the listeners and child processes are gone nothing may hold the event loop, and Node would
      // exit in the middle of the remaining steps (observed: the ephemeral directory was left behind).
      const keepAlive = setInterval(() => undefined, 1000);
      shuttingDown ??= runSteps(steps, logger).finally(() => clearInterval(keepAlive));
      return shuttingDown;
    },
  };
}

/** Waits (bounded) for every node's first `/ready`; later failures are the balancers' business. */
async function waitForNodes(health: NodeHealth, count: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + NODES_READY_TIMEOUT_MS;
  while (health.healthyCount < count) {
    if (Date.now() > deadline) {
      logger.warn(
        { ready: health.healthyCount, nodes: count },
        'not every SlimFaas node is ready yet; the entrypoint uses the ready ones (see logs/slimfaas-*.log)',
      );
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
