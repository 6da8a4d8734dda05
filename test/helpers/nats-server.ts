import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  /** JetStream store directory; a new temp directory (removed by `stop`) when absent. */
  readonly storeDir?: string;
  /** Client port; a free loopback port when absent (pass the previous one to restart "the same server"). */
  readonly port?: number;
  readonly startTimeoutMs?: number;
  /** Extra command-line arguments (cluster options). */
  readonly extraArgs?: readonly string[];
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** SIGTERM (a clean JetStream shutdown), SIGKILL after 5 s; removes the store directory if it created it. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash); the store directory is kept until `stop`. */
  kill(): Promise<void>;
}

/**
 * Starts `nats-server -js` on 127.0.0.1 (no monitoring port, no cluster) and resolves once it logs that it is
 * ready. Needs the `nats-server` command (scripts/ensure-system-deps.sh installs it).
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const ownsStoreDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'slimfaas-nats-'));
  const port = options.port ?? (await freePort());
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, ...(options.extraArgs ?? [])];
  const child = spawn('nats-server', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    await waitForReady(child, options.startTimeoutMs ?? 10_000);
  } catch (error) {
    await stopProcess(child);
    if (ownsStoreDir) rmSync(storeDir, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    kill: () => stopProcess(child, 'SIGKILL'),
    stop: () => {
      stopped ??= stopProcess(child).finally(() => {
        if (ownsStoreDir) rmSync(storeDir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(
      () => fail(new Error(`nats-server not ready after ${timeoutMs} ms:\n${log}`)),
      timeoutMs,
    );
    const onExit = (code: number | null) => fail(new Error(`nats-server exited (${code}):\n${log}`));
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      reject(error);
    };
    child.once('error', fail);
    child.once('exit', onExit);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (log.length < 20_000) log += chunk;
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stderr?.resume();
        resolve();
      }
    });
  });
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, signal);
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface NatsCluster {
  readonly servers: readonly NatsServer[];
  /** Every client URL, comma-separated as `SLIMFAAS_STORE` takes them. */
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts a 3-node JetStream cluster on loopback: client ports `clientPorts`, route ports `routePorts` (fixed, so
 * each node can name the others' routes; take them from the test file's port range).
 */
export async function startNatsCluster(options: {
  readonly clientPorts: readonly [number, number, number];
  readonly routePorts: readonly [number, number, number];
  readonly name?: string;
}): Promise<NatsCluster> {
  const cluster = options.name ?? 'slimfaas-test';
  const routes = options.routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const servers = await Promise.all(
    options.clientPorts.map((port, i) =>
      startNatsServer({
        port,
        extraArgs: [
          '-n',
          `${cluster}-${i}`,
          '--cluster_name',
          cluster,
          '--cluster',
          `nats://127.0.0.1:${options.routePorts[i]}`,
          '--routes',
          routes,
        ],
      }),
    ),
  );
  return {
    servers,
    urls: servers.map((s) => s.url),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
