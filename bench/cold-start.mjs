// Cold start: one function at zero; each run waits until it is back at zero (NumberReady 0, NumberRequested 0)
// and its previous process has exited, then times one GET /function/cold/hello end to end. The function's command
// is `bash -c 'BENCH_T0=$EPOCHREALTIME exec node upstream.mjs'`, so it logs its own start-to-ready from the moment
// its command started (commandStartToReadyMs: exec, dynamic linking and Node's start included) as well as from
// Node's clock (startToReadyMs, the old definition). SlimFaas's overhead = total − commandStartToReadyMs: the scale
// decision, spawning the command, noticing readiness and proxying; the old definition (total − startToReadyMs) is
// printed next to it. One warm-up cold start (disk caches, SlimFaas's lazily compiled code) is run and discarded
// before the measured runs. Then the idle RSS with the demo manifest (bench/idle-rss.mjs).
// Settings (env): BENCH_RUNS [20], BENCH_WARMUP_RUNS [1], BENCH_BASELINE_RUNS [10], BENCH_HEALTH_PERIOD_S [1]
// (the function's health.periodSeconds), BENCH_IDLE_WAIT_S [3], BENCH_SKIP_IDLE_RSS [0], BENCH_KEEP_TMP [0].
// See bench/README.md.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { measureIdleRss } from './lib/idle-rss.mjs';
import { isAlive, readCpuTicks } from './lib/processes.mjs';
import { loadAverage1m, machineInfo, saveResults } from './lib/results.mjs';
import { readNumberSettings, runBench } from './lib/run-bench.mjs';
import {
  BENCH_T0_COMMAND,
  UPSTREAM,
  functionStatus,
  readPortFile,
  requireCli,
  startSlimFaas,
  upstreamFunction,
  waitFor,
  writeManifest,
} from './lib/slimfaas.mjs';
import { fmt, summarize } from './lib/stats.mjs';
import { PHASES, TARGET_OVERHEAD_MS, renderColdStartMarkdown } from './lib/cold-start-report.mjs';
import { findListening, logSizes, timeline } from './lib/cold-start-logs.mjs';

const FUNCTION = 'cold';
/** Scale-down after 1 s idle plus the scaler's period: generous, but bounded. */
const BACK_TO_ZERO_TIMEOUT_MS = 60_000;

const settings = readNumberSettings({
  BENCH_RUNS: { fallback: 20, min: 1 },
  BENCH_WARMUP_RUNS: { fallback: 1 },
  BENCH_BASELINE_RUNS: { fallback: 10 },
  BENCH_HEALTH_PERIOD_S: { fallback: 1, min: 0.001 },
  BENCH_IDLE_WAIT_S: { fallback: 3 },
  BENCH_SKIP_IDLE_RSS: { fallback: 0 },
});

/**
 * The floor for the overhead: this bench spawning the same command itself, no SlimFaas. Time from spawn() to
 * reading its listening line on the pipe, minus its own commandStartToReadyMs: fork and exec of the command, plus
 * one pipe read (and, by the old definition, minus startToReadyMs: also exec and Node's start before its clock
 * begins). Then, as an orchestrator that knew the exact moment the function listens would,
 * one GET /hello on a new connection: spawn → that first answer − own start is the floor including the
 * function's own first-request cost (lazy compilation of its HTTP path), which any readiness check pays too.
 */
async function bareSpawnBaseline(processes, runs) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    let resolveListening;
    const listening = new Promise((resolve) => (resolveListening = resolve));
    const spawnedAt = Date.now();
    const started = performance.now();
    const [file, ...args] = [...BENCH_T0_COMMAND, process.execPath, UPSTREAM];
    const child = processes.start('baseline', file, args, {
      env: { PORT: '0', FUNCTION_NAME: 'baseline' },
      onLine: (line) => line.includes('"listening"') && resolveListening(JSON.parse(line)),
    });
    const event = await Promise.race([listening, sleep(10_000)]);
    const spawnToListeningMs = performance.now() - started;
    if (!event) throw new Error('the baseline upstream did not log its listening line within 10 s');
    const { statusCode, body } = await request(`http://127.0.0.1:${event.port}/hello`, {
      headers: { connection: 'close' },
    });
    await body.text();
    const spawnToFirstAnswerMs = performance.now() - started;
    await processes.stop(child.pid);
    if (statusCode !== 200) throw new Error(`the baseline upstream answered ${statusCode}`);
    samples.push({
      spawnToListeningMs,
      spawnToFirstAnswerMs,
      firstAnswerOverheadMs: spawnToFirstAnswerMs - event.commandStartToReadyMs,
      functionStartMs: event.commandStartToReadyMs,
      overheadMs: spawnToListeningMs - event.commandStartToReadyMs,
      nodeStartMs: event.startToReadyMs,
      overheadOldMs: spawnToListeningMs - event.startToReadyMs,
      firstAnswerOverheadOldMs: spawnToFirstAnswerMs - event.startToReadyMs,
      beforeCommandStartMs: event.at - event.commandStartToReadyMs - spawnedAt,
      beforeProcessStartMs: event.at - event.startToReadyMs - spawnedAt,
    });
  }
  return samples;
}

async function oneRun({
  entrypoint,
  pool,
  logsDir,
  portFile,
  previousPid,
  processes,
  slimfaasLog,
  slimfaasPid,
}) {
  const zero = await waitFor(
    `${FUNCTION} to be back at zero`,
    async () => {
      const status = await functionStatus(entrypoint, FUNCTION);
      const atZero = status?.NumberReady === 0 && status?.NumberRequested === 0;
      return atZero && !(previousPid && isAlive(previousPid)) ? status : undefined;
    },
    { timeoutMs: BACK_TO_ZERO_TIMEOUT_MS, intervalMs: 50 },
  );
  const before = logSizes(logsDir);
  const fromByte = statSync(slimfaasLog).size;
  const ticksBefore = readCpuTicks(slimfaasPid);
  const requestAt = Date.now();
  const started = performance.now();
  const { statusCode, body } = await pool.request({ method: 'GET', path: `/function/${FUNCTION}/hello` });
  await body.text();
  const totalMs = performance.now() - started;
  const responseAt = Date.now();
  const slimfaasCpuTicks = readCpuTicks(slimfaasPid) - ticksBefore;
  if (statusCode !== 200) throw new Error(`GET /function/${FUNCTION}/hello answered ${statusCode}`);
  const listening = await waitFor(
    'the replica listening line in its log',
    () => findListening(logsDir, before, FUNCTION),
    {
      timeoutMs: 5000,
      intervalMs: 20,
    },
  );
  const replica = readPortFile(portFile);
  processes.watchPid(replica?.pid);
  // SlimFaas's output reaches its log file asynchronously: give the "replica ready" line a moment.
  await waitFor('SlimFaas log lines', () => statSync(slimfaasLog).size > fromByte, { timeoutMs: 1000 }).catch(
    () => {},
  );
  await sleep(50);
  if (typeof listening.commandStartToReadyMs !== 'number')
    throw new Error('the replica did not log commandStartToReadyMs (BENCH_T0 missing?)');
  return {
    totalMs,
    functionStartMs: listening.commandStartToReadyMs,
    overheadMs: totalMs - listening.commandStartToReadyMs,
    nodeStartMs: listening.startToReadyMs,
    overheadOldMs: totalMs - listening.startToReadyMs,
    slimfaasCpuTicks,
    phasesMs: listening.at
      ? timeline({ slimfaasLog, fromByte, requestAt, responseAt, listening, functionName: FUNCTION })
      : undefined,
    replicaPid: replica?.pid,
    newProcess: replica?.pid !== undefined && replica.pid !== previousPid,
    logFile: listening.logFile,
    statusBefore: zero,
  };
}

const maxSeconds = (settings.BENCH_RUNS + settings.BENCH_WARMUP_RUNS) * 30 + settings.BENCH_IDLE_WAIT_S + 120;
await runBench('cold-start', { maxSeconds }, async ({ processes, tmpDir }) => {
  requireCli();
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const stateDir = join(tmpDir, 'state');
  const logsDir = join(stateDir, 'logs');
  const portFile = join(tmpDir, `${FUNCTION}.port`);
  const manifestPath = join(tmpDir, 'slimfaas.yaml');
  writeManifest(manifestPath, {
    schemaVersion: 1,
    name: 'bench-cold-start',
    cluster: { entrypointPort: 30921 },
    processPorts: { from: 48200, to: 48299 },
    state: { mode: 'persistent', directory: stateDir },
    functions: {
      [FUNCTION]: upstreamFunction({
        name: FUNCTION,
        annotations: {
          'SlimFaas/ReplicasMin': '0',
          'SlimFaas/ReplicasAtStart': '1',
          'SlimFaas/TimeoutSecondBeforeSetReplicasMin': '1',
        },
        environment: { UPSTREAM_PORT_FILE: portFile },
        healthPeriodSeconds: settings.BENCH_HEALTH_PERIOD_S,
        commandClock: true,
      }),
    },
  });
  const baseline = await bareSpawnBaseline(processes, settings.BENCH_BASELINE_RUNS);
  const slimfaasLog = join(tmpDir, 'slimfaas.log');
  const slimfaas = await startSlimFaas(processes, { manifestPath, logFile: slimfaasLog });
  console.log(
    `SlimFaas (pid ${slimfaas.pid}) at ${slimfaas.entrypoint}; ${settings.BENCH_WARMUP_RUNS} warm-up ` +
      `(discarded) + ${settings.BENCH_RUNS} measured cold starts`,
  );
  const pool = new Pool(slimfaas.entrypoint, { connections: 1 });
  const runs = [];
  const warmups = [];
  let leakedPids;
  try {
    let previousPid;
    for (let i = 0; i < settings.BENCH_WARMUP_RUNS + settings.BENCH_RUNS; i++) {
      const warmup = i < settings.BENCH_WARMUP_RUNS;
      const run = await oneRun({
        entrypoint: slimfaas.entrypoint,
        pool,
        logsDir,
        portFile,
        previousPid,
        processes,
        slimfaasLog,
        slimfaasPid: slimfaas.pid,
      });
      previousPid = run.replicaPid;
      (warmup ? warmups : runs).push(run);
      const label = warmup ? `warm-up ${i + 1} (discarded)` : `run ${i + 1 - settings.BENCH_WARMUP_RUNS}`;
      console.log(
        `${label}: total ${fmt(run.totalMs, 1)} ms, function start ${fmt(run.functionStartMs, 1)} ms ` +
          `(node clock ${fmt(run.nodeStartMs, 1)}), overhead ${fmt(run.overheadMs, 1)} ms ` +
          `(old definition ${fmt(run.overheadOldMs, 1)})${run.newProcess ? '' : ' (NOT a new process)'}`,
      );
    }
  } finally {
    await pool.close();
    await processes.stop(slimfaas.pid);
    await sleep(200);
    leakedPids = processes.leakedPids();
  }

  const summary = {
    // /proc ticks are 10 ms: only the mean over all runs is meaningful.
    slimfaasCpuMsPerColdStart: (runs.reduce((sum, r) => sum + r.slimfaasCpuTicks, 0) * 10) / runs.length,
    totalMs: summarize(runs.map((r) => r.totalMs)),
    functionStartMs: summarize(runs.map((r) => r.functionStartMs)),
    overheadMs: summarize(runs.map((r) => r.overheadMs)),
    nodeStartMs: summarize(runs.map((r) => r.nodeStartMs)),
    overheadOldMs: summarize(runs.map((r) => r.overheadOldMs)),
    phasesMs: Object.fromEntries(
      PHASES.map((phase) => [
        phase,
        summarize(runs.map((r) => r.phasesMs?.[phase]).filter((v) => typeof v === 'number')),
      ]),
    ),
  };
  const verdicts = ['p50', 'p99'].map((p) => ({
    target: `overhead ${p} ≤ ${TARGET_OVERHEAD_MS[p]} ms`,
    measured: `${fmt(summary.overheadMs[p], 1)} ms`,
    pass: summary.overheadMs[p] <= TARGET_OVERHEAD_MS[p],
  }));
  const idle =
    settings.BENCH_SKIP_IDLE_RSS === 1
      ? undefined
      : await measureIdleRss(processes, { tmpDir, waitSeconds: settings.BENCH_IDLE_WAIT_S });
  const data = {
    bench: 'cold-start',
    startedAt,
    machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
    settings: {
      runs: settings.BENCH_RUNS,
      warmupRuns: settings.BENCH_WARMUP_RUNS,
      healthPeriodSeconds: settings.BENCH_HEALTH_PERIOD_S,
    },
    targets: { overheadMs: TARGET_OVERHEAD_MS },
    summary,
    verdicts,
    baseline: {
      runs: baseline,
      spawnToListeningMs: summarize(baseline.map((b) => b.spawnToListeningMs)),
      functionStartMs: summarize(baseline.map((b) => b.functionStartMs)),
      overheadMs: summarize(baseline.map((b) => b.overheadMs)),
      firstAnswerOverheadMs: summarize(baseline.map((b) => b.firstAnswerOverheadMs)),
      nodeStartMs: summarize(baseline.map((b) => b.nodeStartMs)),
      overheadOldMs: summarize(baseline.map((b) => b.overheadOldMs)),
      firstAnswerOverheadOldMs: summarize(baseline.map((b) => b.firstAnswerOverheadOldMs)),
      beforeCommandStartMs: summarize(baseline.map((b) => b.beforeCommandStartMs)),
      beforeProcessStartMs: summarize(baseline.map((b) => b.beforeProcessStartMs)),
    },
    warmups,
    runs,
    leakedPids,
    ...(idle ? { idle } : {}),
  };
  saveResults('cold-start', data, renderColdStartMarkdown(data));
});
