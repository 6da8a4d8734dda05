// SlimFaas's resident memory at idle with the demo manifest (examples/slimfaas.yaml, every function at zero).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { descendantPids, isAlive, readRssKiB } from './processes.mjs';
import { ROOT, startSlimFaas } from './slimfaas.mjs';

export const IDLE_RSS_TARGET_MIB = 70;

function commandLine(pid) {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    const oneLine = argv.replace(/\s+/g, ' ');
    return oneLine.length > 80 ? `${oneLine.slice(0, 40)} … ${oneLine.slice(-30)}` : oneLine;
  } catch {
    return '?';
  }
}
export const DEMO_MANIFEST = join(ROOT, 'examples', 'slimfaas.yaml');

/**
 * Starts SlimFaas with the demo manifest, waits `waitSeconds` after its Entrypoint line, reads VmRSS of the
 * SlimFaas process and of its whole process tree, then stops it and checks that nothing it started is left.
 */
export async function measureIdleRss(processes, { tmpDir, waitSeconds }) {
  const started = performance.now();
  const slimfaas = await startSlimFaas(processes, {
    manifestPath: DEMO_MANIFEST,
    logFile: join(tmpDir, 'slimfaas-demo.log'),
  });
  const entrypointAfterMs = performance.now() - started;
  await sleep(waitSeconds * 1000);
  const rssKiB = readRssKiB(slimfaas.pid);
  const tree = descendantPids(slimfaas.pid);
  for (const pid of tree) processes.watchPid(pid);
  const treeCommands = tree.map((pid) => commandLine(pid));
  const treeRssKiB = [slimfaas.pid, ...tree].reduce((total, pid) => total + (readRssKiB(pid) ?? 0), 0);
  let functions;
  try {
    const { body } = await request(`${slimfaas.entrypoint}/status-functions`);
    functions = (await body.json()).map(({ Name, NumberReady, NumberRequested }) => ({
      Name,
      NumberReady,
      NumberRequested,
    }));
  } catch (error) {
    functions = `GET /status-functions failed: ${error.message}`;
  }
  const exit = await processes.stop(slimfaas.pid);
  await sleep(200);
  return {
    manifest: 'examples/slimfaas.yaml',
    waitSeconds,
    entrypointAfterMs,
    rssMiB: rssKiB / 1024,
    treeRssMiB: treeRssKiB / 1024,
    processesInTree: 1 + tree.length,
    treeCommands: treeCommands,
    functions,
    exit,
    leakedPids: tree.filter(isAlive),
    targetMiB: IDLE_RSS_TARGET_MIB,
    pass: rssKiB / 1024 <= IDLE_RSS_TARGET_MIB,
  };
}

export function idleRssMarkdown(idle) {
  return [
    `SlimFaas idle RSS with ${idle.manifest}, ${idle.waitSeconds} s after its Entrypoint line ` +
      `(printed ${idle.entrypointAfterMs.toFixed(0)} ms after spawn):`,
    '',
    `| VmRSS SlimFaas (MiB) | VmRSS process tree (MiB) | processes | target | met |`,
    `| --- | --- | --- | --- | --- |`,
    `| ${idle.rssMiB.toFixed(1)} | ${idle.treeRssMiB.toFixed(1)} | ${idle.processesInTree} | ≤ ${idle.targetMiB} MiB | ${idle.pass ? 'yes' : '**no**'} |`,
    '',
    `Functions at idle: ${typeof idle.functions === 'string' ? idle.functions : idle.functions.map((f) => `${f.Name} ${f.NumberReady}/${f.NumberRequested}`).join(', ')} (ready/requested). ` +
      `SlimFaas exit on SIGTERM: code ${idle.exit.code}, signal ${idle.exit.signal}. ` +
      `Other processes in its tree: ${idle.treeCommands.length === 0 ? 'none' : idle.treeCommands.join('; ')}. ` +
      `Processes left after it stopped: ${idle.leakedPids.length === 0 ? 'none' : idle.leakedPids.join(', ')}.`,
  ].join('\n');
}
