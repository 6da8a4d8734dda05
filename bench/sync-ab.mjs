// Paired A/B of two SlimFaas builds on the sync proxy path: both run side by side (each with its own
// bench/upstream.mjs replica), and wrk runs alternate A, B, A, B… so machine noise hits both alike.
// Reports SlimFaas CPU µs per request (user + system, from /proc/<pid>/stat) and req/s per run, and the
// medians. Settings (env): BENCH_AB_A (a dist/cli.js; default: this checkout's), BENCH_AB_B (required),
// BENCH_AB_A_NODE_ARGS / BENCH_AB_B_NODE_ARGS (extra Node flags, space-separated), BENCH_AB_PAIRS [5],
// BENCH_DURATION_S [3], BENCH_WARMUP_S [1], BENCH_BODIES [64], BENCH_CONNECTIONS [16].
import { join } from 'node:path';
import { readCpuTicksSplit } from './lib/processes.mjs';
import { loadAverage1m, machineInfo, saveResults } from './lib/results.mjs';
import { readNumberSettings, runBench } from './lib/run-bench.mjs';
import {
  CLI,
  functionStatus,
  readPortFile,
  startSlimFaas,
  upstreamFunction,
  waitFor,
  writeManifest,
} from './lib/slimfaas.mjs';
import { fmt } from './lib/stats.mjs';
import { bytesLabel } from './lib/sync-report.mjs';
import { requireWrk, runWrk, writeWrkScript } from './lib/wrk.mjs';

const settings = readNumberSettings({
  BENCH_AB_PAIRS: { fallback: 5, min: 1 },
  BENCH_WARMUP_S: { fallback: 1 },
  BENCH_DURATION_S: { fallback: 3, min: 1 },
  BENCH_BODIES: { fallback: '64', list: true, min: 1 },
  BENCH_CONNECTIONS: { fallback: '16', list: true, min: 1 },
});
const builds = {
  A: {
    cli: process.env.BENCH_AB_A ?? CLI,
    nodeArgs: (process.env.BENCH_AB_A_NODE_ARGS ?? '').split(' ').filter(Boolean),
  },
  B: {
    cli: process.env.BENCH_AB_B,
    nodeArgs: (process.env.BENCH_AB_B_NODE_ARGS ?? '').split(' ').filter(Boolean),
  },
};
if (!builds.B.cli) {
  console.error('BENCH_AB_B=/path/to/other/dist/cli.js is required');
  process.exit(2);
}
const TICKS = 100;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function startBuild(processes, tmpDir, label, { cli, nodeArgs }, portBase) {
  const portFile = join(tmpDir, `${label}.port`);
  const manifestPath = join(tmpDir, `${label}.yaml`);
  writeManifest(manifestPath, {
    schemaVersion: 1,
    name: `bench-ab-${label.toLowerCase()}`,
    cluster: { entrypointPort: portBase },
    processPorts: { from: portBase + 10, to: portBase + 40 },
    state: { mode: 'persistent', directory: join(tmpDir, `state-${label}`) },
    functions: {
      bench: upstreamFunction({
        name: 'bench',
        annotations: { 'SlimFaas/ReplicasMin': '1', 'SlimFaas/ReplicasAtStart': '1' },
        environment: { UPSTREAM_PORT_FILE: portFile },
      }),
    },
  });
  const slimfaas = await startSlimFaas(processes, {
    manifestPath,
    logFile: join(tmpDir, `slimfaas-${label}.log`),
    cli,
    nodeArgs,
  });
  await waitFor(
    `${label}: bench ready`,
    async () => ((await functionStatus(slimfaas.entrypoint, 'bench'))?.NumberReady ?? 0) >= 1,
    { timeoutMs: 30_000 },
  );
  const { pid } = await waitFor(`${label}: replica port file`, () => readPortFile(portFile), {
    timeoutMs: 10_000,
  });
  processes.watchPid(pid);
  console.log(`${label}: ${cli} ${nodeArgs.join(' ')} (pid ${slimfaas.pid}) at ${slimfaas.entrypoint}`);
  return { url: `${slimfaas.entrypoint}/function/bench/echo`, pid: slimfaas.pid, upstreamPid: pid };
}

async function measure(processes, target, { connections, script }) {
  if (settings.BENCH_WARMUP_S > 0) {
    await runWrk(processes, {
      url: target.url,
      connections,
      durationSeconds: settings.BENCH_WARMUP_S,
      script,
    });
  }
  const before = readCpuTicksSplit(target.pid);
  const result = await runWrk(processes, {
    url: target.url,
    connections,
    durationSeconds: settings.BENCH_DURATION_S,
    script,
  });
  const after = readCpuTicksSplit(target.pid);
  const micros = (ticks) => (ticks / TICKS / result.requests) * 1e6;
  return {
    requestsPerSecond: result.requestsPerSecond,
    p50Ms: result.latencyMs.p50,
    userMicros: micros(after.user - before.user),
    systemMicros: micros(after.system - before.system),
    load1m: loadAverage1m(),
  };
}

const plannedSeconds =
  60 +
  settings.BENCH_AB_PAIRS *
    2 *
    settings.BENCH_BODIES.length *
    settings.BENCH_CONNECTIONS.length *
    (settings.BENCH_WARMUP_S + settings.BENCH_DURATION_S);
await runBench('sync-ab', { maxSeconds: plannedSeconds * 1.5 + 60 }, async ({ processes, tmpDir }) => {
  const wrkVersion = requireWrk();
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const targets = {
    A: await startBuild(processes, tmpDir, 'A', builds.A, 30930),
    B: await startBuild(processes, tmpDir, 'B', builds.B, 30980),
  };
  const cases = [];
  for (const bodyBytes of settings.BENCH_BODIES) {
    const script = writeWrkScript(tmpDir, { method: 'POST', bodyBytes });
    for (const connections of settings.BENCH_CONNECTIONS) {
      const runs = { A: [], B: [] };
      for (let pair = 0; pair < settings.BENCH_AB_PAIRS; pair++) {
        // Alternate which build goes first, so a drift in machine load does not favour one.
        for (const label of pair % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
          const run = await measure(processes, targets[label], { connections, script });
          runs[label].push(run);
          console.log(
            `POST ${bytesLabel(bodyBytes)} c=${connections} ${label}: ${fmt(run.requestsPerSecond, 0)} req/s, ` +
              `${fmt(run.userMicros + run.systemMicros, 1)} µs/req (user ${fmt(run.userMicros, 1)} + system ${fmt(run.systemMicros, 1)}), load ${fmt(run.load1m)}`,
          );
        }
      }
      const summary = (label) => ({
        medianRequestsPerSecond: median(runs[label].map((r) => r.requestsPerSecond)),
        medianMicrosPerRequest: median(runs[label].map((r) => r.userMicros + r.systemMicros)),
      });
      cases.push({ bodyBytes, connections, runs, A: summary('A'), B: summary('B') });
    }
  }
  const data = {
    bench: 'sync-ab',
    startedAt,
    machine: { ...machine, wrk: wrkVersion, loadAverage1mAtEnd: loadAverage1m() },
    builds,
    settings,
    cases,
  };
  const lines = [
    '# Sync proxy A/B (two builds side by side, runs alternated)',
    '',
    `${startedAt} · node ${machine.node} · load ${fmt(machine.loadAverage1m)} → ${fmt(data.machine.loadAverage1mAtEnd)} · ` +
      `${settings.BENCH_AB_PAIRS} pairs · warm-up ${settings.BENCH_WARMUP_S} s, measured ${settings.BENCH_DURATION_S} s per run`,
    '',
    `A: \`${builds.A.cli} ${builds.A.nodeArgs.join(' ')}\` · B: \`${builds.B.cli} ${builds.B.nodeArgs.join(' ')}\``,
    '',
    '| workload | c | A median req/s | B median req/s | A median SlimFaas µs/req | B median SlimFaas µs/req | B / A µs |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...cases.map(
      (c) =>
        `| POST ${bytesLabel(c.bodyBytes)} | ${c.connections} | ${fmt(c.A.medianRequestsPerSecond, 0)} | ${fmt(c.B.medianRequestsPerSecond, 0)} | ` +
        `${fmt(c.A.medianMicrosPerRequest, 1)} | ${fmt(c.B.medianMicrosPerRequest, 1)} | ${fmt(c.B.medianMicrosPerRequest / c.A.medianMicrosPerRequest, 2)} |`,
    ),
    '',
  ];
  saveResults('sync-ab', data, lines.join('\n'));
});
