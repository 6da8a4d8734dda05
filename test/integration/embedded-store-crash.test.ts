import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';
import { waitUntil } from '../helpers/wait-until.js';

const CHILD = fileURLToPath(new URL('../helpers/store-crash-child.ts', import.meta.url));
const COUNT = 2_000;

describe('EmbeddedStateStore after a crash', () => {
  const directories: string[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  it('keeps every enqueue the killed process saw resolve', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'slimfaas-crash-'));
    directories.push(directory);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, directory, String(COUNT), '16'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const committed = new Set<string>();
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (buffered + chunk).split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines)
        if (line.startsWith('committed ')) committed.add(line.slice('committed '.length));
    });

    await waitUntil(() => committed.size >= 300, {
      timeoutMs: 15_000,
      message: 'child committed 300 enqueues',
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(committed.size).toBeLessThan(COUNT);

    const store = await EmbeddedStateStore.open({ directory });
    try {
      const { elements } = await store.lease('crash', {
        max: COUNT,
        owner: 'after-crash',
        leaseMs: 1,
        nowMs: 0,
      });
      const stored = new Set(elements.map((e) => e.id));
      const lost = [...committed].filter((id) => !stored.has(id));
      expect(lost).toEqual([]);
      expect(stored.size).toBeGreaterThanOrEqual(committed.size);
      expect(elements.every((e) => e.payload.length === 1024 && e.attempt === 1)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
