// Starting SlimFaas for a bench: a generated manifest, `node dist/cli.js up -f <manifest> --port 0`, the
// `Entrypoint: http://127.0.0.1:<port>` line from its output, and its status API.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

export const ROOT = resolve(import.meta.dirname, '..', '..');
// BENCH_CLI: another build of SlimFaas to run instead (e.g. an older commit's dist/cli.js, for a paired comparison).
export const CLI = process.env.BENCH_CLI ?? join(ROOT, 'dist', 'cli.js');
export const UPSTREAM = join(ROOT, 'bench', 'upstream.mjs');

const ENTRYPOINT_LINE = /Entrypoint:\s*(http:\/\/127\.0\.0\.1:\d+)/;

/** Exits with the build command when dist/cli.js is missing. */
export function requireCli() {
  if (!existsSync(CLI)) {
    console.error(`${CLI} not found. Build SlimFaas first:\n  npm run build`);
    process.exit(1);
  }
}

/**
 * Writes a local manifest. It is written as JSON, which is also valid YAML 1.2, so no YAML writer is needed;
 * paths in it are absolute so the temp directory's location does not matter.
 */
export function writeManifest(path, manifest) {
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * bash records its start in BENCH_T0 ($EPOCHREALTIME: epoch seconds, µs, a builtin, no fork) and execs node in
 * place (same pid): upstream.mjs then logs commandStartToReadyMs, its start-to-ready from its command's start.
 * Usage: [...BENCH_T0_COMMAND, program, ...args].
 */
export const BENCH_T0_COMMAND = ['/bin/bash', '-c', 'BENCH_T0=$EPOCHREALTIME exec "$@"', 'bench-t0'];

/**
 * A function entry running bench/upstream.mjs, with SlimFaas's annotation keys; values must be strings.
 * `commandClock`: start it through BENCH_T0_COMMAND.
 */
export function upstreamFunction({
  name,
  annotations,
  environment = {},
  healthPeriodSeconds = 1,
  commandClock = false,
}) {
  return {
    command: [...(commandClock ? BENCH_T0_COMMAND : []), process.execPath, UPSTREAM],
    workingDirectory: join(ROOT, 'bench'),
    annotations: { 'SlimFaas/Function': 'true', ...annotations },
    environment: { FUNCTION_NAME: name, ...environment },
    health: {
      path: '/health',
      periodSeconds: healthPeriodSeconds,
      timeoutSeconds: 2,
      startupTimeoutSeconds: 30,
    },
  };
}

/**
 * Starts SlimFaas and resolves once it printed its Entrypoint line, to `{ pid, entrypoint, exited }`.
 * Rejects (the process is stopped by the ProcessSet) if it exits first or takes longer than `timeoutMs`.
 */
export async function startSlimFaas(
  processes,
  {
    manifestPath,
    logFile,
    cwd = ROOT,
    env = {},
    timeoutMs = 30_000,
    cli = CLI,
    nodeArgs: extraNodeArgs = [],
  },
) {
  let resolveEntrypoint;
  const entrypointSeen = new Promise((r) => (resolveEntrypoint = r));
  const tail = [];
  // BENCH_SLIMFAAS_NODE_ARGS: extra Node flags for SlimFaas only (not its replicas), e.g. to profile it:
  // "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = [
    ...(process.env.BENCH_SLIMFAAS_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ...extraNodeArgs,
  ];
  const started = processes.start(
    'slimfaas',
    process.execPath,
    [...nodeArgs, cli, 'up', '-f', manifestPath, '--port', '0'],
    {
      cwd,
      env,
      logFile,
      onLine: (line) => {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        const match = ENTRYPOINT_LINE.exec(line);
        if (match) resolveEntrypoint(match[1]);
      },
    },
  );
  const outcome = await Promise.race([
    entrypointSeen.then((entrypoint) => ({ entrypoint })),
    started.exited.then((exit) => ({ exit })),
    sleep(timeoutMs).then(() => ({ timedOut: true })),
  ]);
  if (outcome.entrypoint) return { pid: started.pid, entrypoint: outcome.entrypoint, exited: started.exited };
  const why = outcome.exit
    ? `exited (code ${outcome.exit.code}, signal ${outcome.exit.signal}) before printing its Entrypoint line`
    : `printed no Entrypoint line within ${timeoutMs} ms`;
  throw new Error(`SlimFaas ${why}. Last output:\n${tail.join('\n')}`);
}

/** GET <entrypoint>/status-function/<name> → the parsed JSON, or undefined on any failure. */
export async function functionStatus(entrypoint, name) {
  try {
    const { statusCode, body } = await request(`${entrypoint}/status-function/${name}`);
    const text = await body.text();
    return statusCode === 200 ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `probe()` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function waitFor(what, probe, { timeoutMs = 30_000, intervalMs = 50 } = {}) {
  const deadline = performance.now() + timeoutMs;
  let last;
  while (performance.now() < deadline) {
    last = await probe();
    if (last) return last;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The `{port, pid}` that bench/upstream.mjs wrote to UPSTREAM_PORT_FILE, or undefined. */
export function readPortFile(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
