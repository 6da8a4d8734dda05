import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Logger } from '../core/ports.js';
import type { ProcessGroupWatchdog } from '../orchestrators/local-process/process-group-watchdog.js';
import { freePort } from './free-port.js';
import { SupervisedProcess } from './supervised-process.js';

const NATS_BINARY = 'nats-server';
const READY_POLL_MS = 100;

export class MissingBinaryError extends Error {}

export interface NatsClusterOptions {
  readonly nodes: number;
  /** The manifest's name: the NATS cluster is called `slimfaas-<name>`. */
  readonly name: string;
  /** Configs and JetStream data go to `<stateDirectory>/nats/`, logs to `<stateDirectory>/logs/`. */
  readonly stateDirectory: string;
  readonly watchdog: ProcessGroupWatchdog;
  readonly logger: Logger;
  readonly stopGraceMs: number;
  readonly readyTimeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface NatsCluster {
  /** `nats://127.0.0.1:p1,nats://127.0.0.1:p2,…`: what `SLIMFAAS_STORE` takes. */
  readonly storeSetting: string;
  readonly processes: readonly SupervisedProcess[];
  stop(): Promise<void>;
}

/** The absolute path of `nats-server` on PATH; throws MissingBinaryError naming the install command. */
export function findNatsServer(path: string | undefined): string {
  for (const directory of (path ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, NATS_BINARY);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new MissingBinaryError(
    `cluster.nodes > 1 needs ${NATS_BINARY} (NATS JetStream keeps the nodes' shared state), and it was not found on PATH. Install it, e.g. \`sudo apt-get install nats-server\` on Debian/Ubuntu, or use cluster.nodes: 1.`,
  );
}

/**
 * Starts `nodes` nats-server processes with JetStream, forming one cluster on loopback (each lists
 * every route, itself included, which nats-server ignores), and resolves once JetStream answers on
 * every server with a meta leader elected. Ports are picked free at each start; server names are
 * stable, so a persistent state directory keeps its JetStream data across runs.
 */
export async function startNatsCluster(options: NatsClusterOptions): Promise<NatsCluster> {
  const binary = findNatsServer(options.env?.PATH ?? process.env.PATH);
  const directory = join(options.stateDirectory, 'nats');
  mkdirSync(directory, { recursive: true });
  const servers = [];
  for (let i = 0; i < options.nodes; i++) {
    servers.push({ index: i, client: await freePort(), route: await freePort(), monitor: await freePort() });
  }
  const routes = servers.map((s) => `"nats-route://127.0.0.1:${s.route}"`).join(', ');
  const processes = servers.map((server) => {
    const config = join(directory, `nats-${server.index}.conf`);
    writeFileSync(
      config,
      [
        `server_name: "slimfaas-nats-${server.index}"`,
        `listen: "127.0.0.1:${server.client}"`,
        `http: "127.0.0.1:${server.monitor}"`,
        `jetstream { store_dir: ${JSON.stringify(join(directory, `data-${server.index}`))} }`,
        options.nodes > 1
          ? `cluster { name: "slimfaas-${options.name}", listen: "127.0.0.1:${server.route}", routes: [${routes}] }`
          : '',
        '',
      ].join('\n'),
    );
    return new SupervisedProcess({
      name: `nats-${server.index}`,
      command: [binary, '-c', config],
      env: options.env ?? process.env,
      logFile: join(options.stateDirectory, 'logs', `nats-${server.index}.log`),
      watchdog: options.watchdog,
      logger: options.logger,
      stopGraceMs: options.stopGraceMs,
    });
  });
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop()));
  };
  try {
    await waitForJetStream(
      servers.map((s) => s.monitor),
      { clustered: options.nodes > 1, timeoutMs: options.readyTimeoutMs },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    storeSetting: servers.map((s) => `nats://127.0.0.1:${s.client}`).join(','),
    processes,
    stop,
  };
}

/** Polls each server's monitoring `/jsz` (a start-up wait, not a watch) until JetStream is usable. */
async function waitForJetStream(
  monitorPorts: readonly number[],
  options: { clustered: boolean; timeoutMs: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const states = await Promise.all(monitorPorts.map((port) => jetStreamState(port, options.clustered)));
    const notReady = states.find((state) => state !== 'ready');
    if (notReady === undefined) return;
    if (Date.now() > deadline) {
      throw new Error(
        `NATS JetStream not ready after ${options.timeoutMs} ms (${notReady}); see the nats-*.log files`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

async function jetStreamState(port: number, clustered: boolean): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/jsz`, { signal: AbortSignal.timeout(1000) });
    const body = (await response.json()) as { config?: unknown; meta_cluster?: { leader?: string } };
    if (response.status !== 200 || body.config === undefined) return `JetStream off on port ${port}`;
    if (clustered && (body.meta_cluster?.leader ?? '') === '') return 'no JetStream meta leader yet';
    return 'ready';
  } catch {
    return `monitoring port ${port} not answering`;
  }
}
