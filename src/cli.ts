#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseCliArgs } from './config/cli-args.js';
import { loadManifest } from './config/manifest.js';
import { readConfig, type ServerConfig } from './config/read-config.js';
import type { Logger } from './core/ports.js';
import { createLogger, runUp } from './main.js';

/** Exit codes: 0 ok, 2 invalid manifest or configuration, 1 any other failure. */
const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_INVALID = 2;

async function main(argv: readonly string[]): Promise<number> {
  const command = parseCliArgs(argv);
  switch (command.kind) {
    case 'help':
      process.stdout.write(`${command.text}\n`);
      return EXIT_OK;
    case 'version':
      process.stdout.write(`${version()}\n`);
      return EXIT_OK;
    case 'error':
      process.stderr.write(`${command.message}\n`);
      return EXIT_INVALID;
    case 'serve':
      return serve();
    case 'node':
      return node();
    case 'validate': {
      const result = loadManifest(command.files);
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      if (!result.ok) {
        for (const e of result.errors) process.stderr.write(`error: ${e}\n`);
        return EXIT_INVALID;
      }
      const n = result.manifest.functions.length;
      const j = result.manifest.jobs.length;
      const nodes = result.manifest.cluster.nodes;
      process.stdout.write(
        `Configuration from ${command.files.length} YAML file(s) is valid (${n} function(s), ${j} job(s), ${nodes} node(s)).\n`,
      );
      return EXIT_OK;
    }
    case 'up':
      return up(command.files, command.port);
  }
}

async function up(files: readonly string[], port: number | undefined): Promise<number> {
  const config = readConfigOrReport();
  if (config === undefined) return EXIT_INVALID;
  const result = loadManifest(files, port === undefined ? {} : { portOverride: port });
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  if (!result.ok) {
    for (const e of result.errors) process.stderr.write(`error: ${e}\n`);
    return EXIT_INVALID;
  }
  const logger = createLogger(config);
  if (result.manifest.cluster.nodes === 1) {
    const running = await runUp(result.manifest, config, logger);
    process.stdout.write(`Entrypoint: ${running.url}\n`);
    return untilSignal(running, logger);
  }
  // The cluster modules (and the NATS client) are loaded only for a local cluster: idle memory of `up`.
  const [{ MissingBinaryError }, { runClusterUp }] = await Promise.all([
    import('./cluster/nats-cluster.js'),
    import('./cluster/run-cluster-up.js'),
  ]);
  let running;
  try {
    running = await runClusterUp(result.manifest, config, logger);
  } catch (error) {
    if (!(error instanceof MissingBinaryError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  process.stdout.write(`Entrypoint: ${running.url}\n`);
  return untilSignal(running, logger);
}

/** `slimfaas node` (hidden): one node of a local cluster, configured by `up` through the environment. */
async function node(): Promise<number> {
  const config = readConfigOrReport();
  if (config === undefined) return EXIT_INVALID;
  const logger = createLogger(config);
  const { runNode } = await import('./cluster/run-node.js');
  const running = await runNode(config, logger);
  process.stdout.write(`Node: ${running.url} internal ${running.internalUrl} pid ${process.pid}\n`);
  return untilSignal(running, logger);
}

/** `slimfaas serve`: Kubernetes mode, configured by the environment only. */
async function serve(): Promise<number> {
  const config = readConfigOrReport();
  if (config === undefined) return EXIT_INVALID;
  const logger = createLogger(config);
  // Loaded here only: serve.js pulls in @kubernetes/client-node, whose module sources alone kept ~30 MiB
  // resident in every `slimfaas up` (bench/README.md, idle RSS).
  const { loadKubeConfig, runServe } = await import('./serve.js');
  const running = await runServe(config, loadKubeConfig(config), logger);
  process.stdout.write(`Entrypoint: ${running.urls.join(' ')}\n`);
  return untilSignal(running, logger);
}

/** The settings, or undefined after printing every problem (the caller exits 2). */
function readConfigOrReport(): ServerConfig | undefined {
  const result = readConfig(process.env);
  if (result.ok) {
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    return result.config;
  }
  for (const e of result.errors) process.stderr.write(`error: ${e}\n`);
  return undefined;
}

/**
 * Runs until SIGINT/SIGTERM, then shuts down in order: exit 0 when shutdown completes, 1 when it fails.
 * A second signal exits at once (1).
 */
function untilSignal(running: { shutdown(): Promise<void> }, logger: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (++signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolve(EXIT_FAILURE);
        return;
      }
      logger.info({ signal }, 'shutting down');
      running.shutdown().then(
        () => resolve(EXIT_OK),
        () => resolve(EXIT_FAILURE),
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `slimfaas: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(EXIT_FAILURE);
  },
);
