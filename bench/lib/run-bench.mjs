// The frame of every bench: a temp directory, a ProcessSet, a hard time limit, and cleanup of every process
// it started whatever happens (success, error, Ctrl+C, time limit).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessSet } from './processes.mjs';

/**
 * Runs `body({ processes, tmpDir })`. The temp directory is removed on success and kept (its path printed)
 * on failure, for the logs in it. Sets the exit code: 0 on success, 1 on failure or time limit, 130 on a signal.
 */
export async function runBench(name, { maxSeconds }, body) {
  const processes = new ProcessSet();
  const tmpDir = mkdtempSync(join(tmpdir(), `slimfaas-bench-${name}-`));
  let aborting = false;
  const abort = async (message, exitCode) => {
    if (aborting) return;
    aborting = true;
    console.error(`\n${message}; stopping every process this bench started (logs kept in ${tmpDir})`);
    await processes.stopAll({ graceMs: 3000 });
    process.exit(exitCode);
  };
  const deadline = setTimeout(
    () => void abort(`bench ${name} ran longer than ${maxSeconds} s`, 1),
    maxSeconds * 1000,
  );
  const onSignal = (signal) => void abort(`received ${signal}`, 130);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let failed = false;
  try {
    await body({ processes, tmpDir });
  } catch (error) {
    failed = true;
    if (!aborting) console.error(`\nbench ${name} failed: ${error?.stack ?? error}`);
  } finally {
    const { leakedPids } = await processes.stopAll();
    if (leakedPids.length > 0)
      console.error(`killed processes that outlived SlimFaas: ${leakedPids.join(', ')}`);
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (failed || process.env.BENCH_KEEP_TMP === '1') console.error(`logs kept in ${tmpDir}`);
    else rmSync(tmpDir, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

/** Reads numeric settings from the environment; reports every invalid one at once and exits 2. */
export function readNumberSettings(spec) {
  const values = {};
  const problems = [];
  for (const [key, { fallback, list = false, min = 0 }] of Object.entries(spec)) {
    const raw = process.env[key];
    const text = raw === undefined || raw.trim() === '' ? String(fallback) : raw;
    const parsed = text.split(',').map((part) => Number(part.trim()));
    if (parsed.some((n) => !Number.isFinite(n) || n < min) || (!list && parsed.length !== 1)) {
      problems.push(
        `${key}=${raw} (expected ${list ? 'a comma-separated list of numbers' : 'a number'} ≥ ${min})`,
      );
    }
    values[key] = list ? parsed : parsed[0];
  }
  if (problems.length > 0) {
    console.error(`invalid settings:\n  ${problems.join('\n  ')}`);
    process.exit(2);
  }
  return values;
}
