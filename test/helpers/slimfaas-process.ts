import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitUntil } from './wait-until.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO_ROOT, 'dist', 'cli.js');
export const FN_SERVER = join(REPO_ROOT, 'test', 'helpers', 'fn-server.mjs');

export interface SlimFaasProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly dir: string;
  readonly output: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Every CLI started here; killed when the test worker exits, so a failing test never leaks one. */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Writes `manifestYaml` into a fresh temp dir and runs the built CLI `up` on it with `--port 0`. */
export async function startSlimFaas(
  manifestYaml: string,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<SlimFaasProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'slimfaas-e2e-'));
  const file = join(dir, 'slimfaas.yaml');
  writeFileSync(file, manifestYaml);
  const child = spawn(process.execPath, [CLI, 'up', '-f', file, '--port', '0'], {
    cwd: dir,
    env: { ...process.env, SLIMFAAS_LOG_LEVEL: 'warn', SLIMFAAS_SCALE_INTERVAL_MS: '100', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r((exited = code))));
  const url = await waitUntil(
    () => {
      if (exited !== undefined) throw new Error(`slimfaas exited with ${exited}:\n${out}`);
      return /Entrypoint: (http:\/\/\S+)/.exec(out)?.[1];
    },
    { timeoutMs: options.timeoutMs ?? 20_000, message: 'Entrypoint line' },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url,
    child,
    dir,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (exited === undefined) child.kill(signal);
      return exit;
    },
  };
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface StatusJson {
  NumberReady: number;
  NumberRequested: number;
  PodType: string;
  Visibility: string;
  Name: string;
}

export async function status(url: string, name: string): Promise<StatusJson> {
  const res = await fetch(`${url}/status-function/${name}`);
  return (await res.json()) as StatusJson;
}
