// Where numbers go: printed, and saved as bench/results/<name>-<timestamp>.{json,md}.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from './slimfaas.mjs';

export function timestamp(date = new Date()) {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
}

export function loadAverage1m() {
  return os.loadavg()[0];
}

/** What the numbers depend on: the machine, its load when the bench started, node, the commit. */
export function machineInfo(extra = {}) {
  let commit;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    commit = undefined;
  }
  const cpus = os.cpus();
  return {
    node: process.version,
    cpuModel: cpus[0]?.model,
    cpuCount: cpus.length,
    memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
    kernel: os.release(),
    loadAverage1m: loadAverage1m(),
    // With BENCH_CLI the build measured is not this checkout's: say which one (BENCH_CLI_LABEL, e.g. its commit).
    commit: process.env.BENCH_CLI
      ? `${process.env.BENCH_CLI_LABEL ?? process.env.BENCH_CLI} (BENCH_CLI)`
      : commit,
    ...extra,
  };
}

export function markdownTable(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Prints the markdown and writes both files; returns their paths relative to the repository. */
export function saveResults(name, data, markdown) {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${name}-${timestamp(new Date(data.startedAt ?? Date.now()))}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(`${base}.md`, `${markdown}\n`);
  console.log(`\n${markdown}\n`);
  const paths = [`${base}.json`, `${base}.md`].map((p) => relative(ROOT, p));
  console.log(`saved ${paths.join(' and ')}`);
  return paths;
}
