import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, FN_SERVER, isAlive, REPO_ROOT, startSlimFaas } from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

function writeManifest(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'slimfaas-cli-')), 'slimfaas.yaml');
  writeFileSync(file, yaml);
  return file;
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
}

const broken = `
schemaVersion: 1
name: broken
processPorts: { from: 70000, to: 5 }
functions:
  fib:
    command: [node, x.js]
    health: { path: 12 }
    annotations:
      SlimFaas/ReplicasMin: "abc"
  Bad_Name:
    command: []
`;

describe('slimfaas validate', () => {
  it('exits 2 and lists every problem with its path', () => {
    const result = cli('validate', '-f', writeManifest(broken));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('functions.fib.health.path');
    expect(result.stderr).toContain('SlimFaas/ReplicasMin');
    expect(result.stderr).toContain('abc');
    expect(result.stderr).toContain('processPorts');
    expect(result.stderr).toContain('Bad_Name');
  });

  it('accepts the demo manifest', () => {
    const result = cli('validate', '-f', join(REPO_ROOT, 'examples', 'slimfaas.yaml'));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('exits 2 for a missing file, and `up` refuses a broken manifest with exit 2', () => {
    expect(cli('validate', '-f', '/nonexistent/slimfaas.yaml').status).toBe(2);
    expect(cli('up', '-f', writeManifest(broken), '--port', '0').status).toBe(2);
  });

  it('exits 2 with usage for an unknown flag', () => {
    const result = cli('up', '--bogus');
    expect(result.status).toBe(2);
    expect(result.stderr.length).toBeGreaterThan(0);
  });
});

describe('slimfaas up: abrupt death', () => {
  it('leaves no function process behind when SlimFaas is killed with SIGKILL', async () => {
    const sf = await startSlimFaas(`
schemaVersion: 1
name: e2e-kill
processPorts: { from: 42100, to: 42199 }
state: { mode: ephemeral }
functions:
  keep:
    command: [node, ${FN_SERVER}]
    annotations: { SlimFaas/ReplicasMin: "2", SlimFaas/ReplicasAtStart: "2" }
    health: { path: /health }
`);
    const pids = new Set<number>();
    try {
      await waitUntil(async () => {
        const s = (await (await fetch(`${sf.url}/status-function/keep`)).json()) as { NumberReady: number };
        return s.NumberReady === 2;
      });
      await waitUntil(async () => {
        pids.add(((await (await fetch(`${sf.url}/function/keep/pid`)).json()) as { pid: number }).pid);
        return pids.size === 2;
      });
    } catch (error) {
      await sf.stop('SIGTERM');
      throw error;
    }
    await sf.stop('SIGKILL');
    for (const pid of pids)
      await waitUntil(() => !isAlive(pid), { timeoutMs: 10_000, message: `pid ${pid} gone` });
  });
});
