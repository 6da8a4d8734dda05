import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/slimfaas-process.js';

function manifestFile(nodes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'slimfaas-cluster-cli-'));
  const file = join(dir, 'slimfaas.yaml');
  writeFileSync(
    file,
    `name: cli-cluster\ncluster: { nodes: ${nodes} }\nstate: { mode: ephemeral }\nfunctions:\n  a:\n    command: [node, x.js]\n`,
  );
  return file;
}

describe('slimfaas CLI and cluster.nodes', () => {
  it('validate reports the node count', () => {
    const result = spawnSync(process.execPath, [CLI, 'validate', '-f', manifestFile(3)], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/is valid \(1 function\(s\), 0 job\(s\), 3 node\(s\)\)/);
  });

  it('up exits 1 naming nats-server and the apt command when it is not installed', () => {
    const result = spawnSync(process.execPath, [CLI, 'up', '-f', manifestFile(3), '--port', '0'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/nonexistent' },
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('nats-server');
    expect(result.stderr).toContain('apt-get install nats-server');
    expect(result.stdout).not.toContain('Entrypoint:');
  });
});
