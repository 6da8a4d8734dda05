import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, FN_SERVER, REPO_ROOT } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

/**
 * What `slimfaas up` loads, the cheap guard of its idle memory (bench/README.md, idle RSS; the RSS itself is
 * measured by bench/idle-rss.mjs, not here: timing and memory are too noisy for a test). A preload records
 * every module the SlimFaas process loads (test/helpers/loaded-modules-preload.mjs); its replicas and job
 * runs are not recorded (the preload is a flag of this process only). Ports 47300–47399 are this file's.
 */
const PRELOAD = join(REPO_ROOT, 'test', 'helpers', 'loaded-modules-preload.mjs');

const MANIFEST = `
schemaVersion: 1
name: e2e-idle-modules
processPorts: { from: 47300, to: 47349 }
state: { mode: ephemeral }
functions:
  echo:
    command: [node, ${JSON.stringify(FN_SERVER)}]
    annotations: { SlimFaas/ReplicasMin: '0', SlimFaas/ReplicasAtStart: '0' }
    health: { path: /health }
jobs:
  batch:
    command: [node, -e, 'process.exit(0)']
    annotations: { SlimFaas/DefaultVisibility: Public, SlimFaas/NumberParallelJob: '1', SlimFaas/DependsOn: echo }
    backoffLimit: 1
`;

const directories: string[] = [];
afterEach(() => {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs `slimfaas up` with the preload, lets `use` call it, stops it and returns the modules it loaded. */
async function loadedModules(use: (url: string) => Promise<void>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'slimfaas-idle-modules-'));
  directories.push(dir);
  writeFileSync(join(dir, 'slimfaas.yaml'), MANIFEST);
  const listFile = join(dir, 'modules.txt');
  writeFileSync(listFile, '');
  const child = spawn(
    process.execPath,
    ['--import', PRELOAD, CLI, 'up', '-f', 'slimfaas.yaml', '--port', '0'],
    {
      cwd: dir,
      env: { ...process.env, SLIMFAAS_LOG_LEVEL: 'warn', LOADED_MODULES_FILE: listFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const url = await waitUntil(() => /Entrypoint: (http:\/\/\S+)/.exec(out)?.[1], {
      timeoutMs: 30_000,
      message: 'Entrypoint line',
    });
    await use(url);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exit, out).toBe(0);
  return readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
}

const matching = (modules: readonly string[], part: string): string[] =>
  modules.filter((m) => m.includes(part));

describe('slimfaas up loads only what it uses', () => {
  it('idle, with a plain job configured: no zod, no OpenTelemetry SDK, not undici’s index', async () => {
    const modules = await loadedModules(async (url) => {
      expect((await fetch(`${url}/status-functions`)).status).toBe(200);
    });
    // The recording works: the composition root and undici's pool (a CommonJS module) are listed.
    expect(matching(modules, '/dist/main.js')).toHaveLength(1);
    expect(matching(modules, '/node_modules/undici/lib/dispatcher/pool.js')).not.toEqual([]);
    expect(matching(modules, '/node_modules/zod/')).toEqual([]);
    // @opentelemetry/api itself is loaded by prom-client's default metrics (process CPU exemplars).
    expect(matching(modules, '/node_modules/@opentelemetry/sdk-trace-base/')).toEqual([]);
    expect(matching(modules, '/node_modules/@opentelemetry/exporter-trace-otlp-http/')).toEqual([]);
    expect(matching(modules, '/node_modules/undici/index.js')).toEqual([]);
  }, 60_000);

  it('loads zod on the first POST /job, whose body it validates', async () => {
    const modules = await loadedModules(async (url) => {
      const res = await fetch(`${url}/job/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Args: ['1'] }),
      });
      expect(res.status).toBe(202);
      const refused = await fetch(`${url}/job/batch`, {
        method: 'POST',
        body: JSON.stringify({ args: ['1'] }),
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { message: string }).message).toMatch(/args/);
    });
    expect(matching(modules, '/node_modules/zod/')).not.toEqual([]);
  }, 60_000);
});
