// Cold start, paired and in-process: the LocalProcessOrchestrator of two builds (this one's dist/ and
// BENCH_BASE_DIST, e.g. an older commit's dist/ copied elsewhere) in this one process, alternating one cold
// start each (ABBA order), so the machine's load hits both alike. No HTTP layer: setReplicas(1) → the
// `replica-ready` event → one GET /hello on a new connection (what a held request does). Times from the
// function's own µs wall clock (bench/upstream.mjs readyAtMs, commandStartToReadyMs; command run through bash
// $EPOCHREALTIME as in cold-start.mjs) and this process's CPU (process.cpuUsage, µs: all threads).
// Settings (env): BENCH_BASE_DIST (required), BENCH_RUNS [16] per build (+1 discarded warm-up each).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { loadAverage1m, machineInfo, markdownTable, saveResults } from './lib/results.mjs';
import { readNumberSettings, runBench } from './lib/run-bench.mjs';
import { BENCH_T0_COMMAND, ROOT, UPSTREAM } from './lib/slimfaas.mjs';
import { fmt, summarize } from './lib/stats.mjs';

const settings = readNumberSettings({ BENCH_RUNS: { fallback: 16, min: 1 } });
const baseDist = process.env.BENCH_BASE_DIST;
if (!baseDist) {
  console.error('BENCH_BASE_DIST must name the dist/ directory of the build to compare with');
  process.exit(2);
}
const METRICS = [
  'requestToCommandStart',
  'listeningToReady',
  'readyToResponse',
  'overhead',
  'cpuMs',
  'fnStart',
];
const PORTS = { base: { from: 47410, to: 47439 }, current: { from: 47440, to: 47469 } };
const wall = () => performance.timeOrigin + performance.now();
const noop = () => undefined;
const quietLogger = { debug: noop, info: noop, warn: noop, error: noop, child: () => quietLogger };

async function load(dist) {
  const url = (path) => pathToFileURL(join(dist, path)).href;
  const [{ LocalProcessOrchestrator }, { DEFAULT_CONFIGURATION }] = await Promise.all([
    import(url('orchestrators/local-process/index.js')),
    import(url('core/function-spec.js')),
  ]);
  return { LocalProcessOrchestrator, DEFAULT_CONFIGURATION };
}

function coldSpec(DEFAULT_CONFIGURATION) {
  return Object.freeze({
    ...{ name: 'cold', replicasMin: 0, replicasAtStart: 1, timeoutSecondBeforeSetReplicasMin: 300 },
    ...{ numberParallelRequest: 10, numberParallelRequestPerPod: 10, dependsOn: [], subscribeEvents: [] },
    ...{ replicasStartAsSoonAsOneFunctionRetrieveARequest: false, schedule: undefined },
    ...{ defaultVisibility: 'Public', pathsStartWithVisibility: [], defaultTrust: 'Trusted' },
    configuration: DEFAULT_CONFIGURATION,
  });
}

async function startOrchestrator(label, build, tmpDir, onListening) {
  const orchestrator = new build.LocalProcessOrchestrator({
    functions: [
      {
        spec: coldSpec(build.DEFAULT_CONFIGURATION),
        command: [...BENCH_T0_COMMAND, process.execPath, UPSTREAM],
        workingDirectory: join(ROOT, 'bench'),
        environment: { FUNCTION_NAME: 'cold' },
        health: { path: '/health', periodSeconds: 1, timeoutSeconds: 2, startupTimeoutSeconds: 30 },
      },
    ],
    processPorts: PORTS[label],
    stateDirectory: join(tmpDir, label),
    logger: quietLogger,
    stopGraceMs: 2000,
    echoOutput: (line) => {
      if (line.includes('"listening"')) onListening(JSON.parse(line.slice(line.indexOf('{'))));
    },
  });
  await orchestrator.start();
  return orchestrator;
}

async function oneColdStart(orchestrator, nextListening) {
  const listening = nextListening();
  let readyAt;
  const ready = new Promise((resolve) => {
    const unsubscribe = orchestrator.subscribe((event) => {
      if (event.kind !== 'replica-ready') return;
      readyAt = wall();
      unsubscribe();
      resolve();
    });
  });
  const cpuBefore = process.cpuUsage();
  const requestAt = wall();
  await orchestrator.setReplicas('cold', 1);
  await ready;
  const { origin } = orchestrator.functions().get('cold').replicas[0];
  const { statusCode, body } = await request(`${origin}/hello`, { headers: { connection: 'close' } });
  await body.text();
  const responseAt = wall();
  const cpu = process.cpuUsage(cpuBefore);
  if (statusCode !== 200) throw new Error(`GET /hello answered ${statusCode}`);
  const line = await Promise.race([listening, sleep(5000)]);
  if (line?.readyAtMs === undefined) throw new Error('no listening line with readyAtMs within 5 s');
  await orchestrator.setReplicas('cold', 0);
  for (let i = 0; i < 500 && orchestrator.functions().get('cold').replicas.length > 0; i++) await sleep(10);
  await sleep(300);
  const commandAt = line.readyAtMs - line.commandStartToReadyMs;
  return {
    requestToCommandStart: commandAt - requestAt,
    listeningToReady: readyAt - line.readyAtMs,
    readyToResponse: responseAt - readyAt,
    overhead: responseAt - requestAt - line.commandStartToReadyMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    fnStart: line.commandStartToReadyMs,
  };
}

function render(data) {
  const rows = METRICS.flatMap((metric) =>
    ['base', 'current'].map((label) => {
      const s = data.summary[label][metric];
      return [metric, label, fmt(s.p50, 2), fmt(s.mean, 2), fmt(s.min, 2), fmt(s.max, 2)];
    }),
  );
  return [
    '# Cold start, paired in-process (LocalProcessOrchestrator of two builds)',
    '',
    `${data.startedAt} · node ${data.machine.node} · load ${fmt(data.machine.loadAverage1m)} → ` +
      `${fmt(data.machine.loadAverage1mAtEnd)} · commit ${data.machine.commit ?? '?'} · base ${data.baseDist} · ` +
      `${data.settings.runs} runs per build, ABBA order, 1 warm-up each discarded`,
    '',
    markdownTable(['ms', 'build', 'p50', 'mean', 'min', 'max'], rows),
  ].join('\n');
}

await runBench('cold-start-paired', { maxSeconds: settings.BENCH_RUNS * 2 * 10 + 60 }, async ({ tmpDir }) => {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const builds = { base: await load(baseDist), current: await load(join(ROOT, 'dist')) };
  const waiting = [];
  const onListening = (line) => waiting.shift()?.(line);
  const nextListening = () => new Promise((resolve) => waiting.push(resolve));
  const orchestrators = {};
  // The spawn helper's pipes are unref'd: something must keep the event loop alive between events.
  const keepAlive = setInterval(noop, 1000);
  const runs = { base: [], current: [] };
  try {
    for (const label of ['base', 'current'])
      orchestrators[label] = await startOrchestrator(label, builds[label], tmpDir, onListening);
    for (let i = 0; i <= settings.BENCH_RUNS; i++) {
      for (const label of i % 2 === 0 ? ['base', 'current'] : ['current', 'base']) {
        const run = await oneColdStart(orchestrators[label], nextListening);
        if (i > 0) runs[label].push(run);
      }
    }
  } finally {
    await Promise.all(Object.values(orchestrators).map((o) => o.close()));
    clearInterval(keepAlive);
  }
  const summary = Object.fromEntries(
    ['base', 'current'].map((label) => [
      label,
      Object.fromEntries(METRICS.map((m) => [m, summarize(runs[label].map((r) => r[m]))])),
    ]),
  );
  const data = {
    bench: 'cold-start-paired',
    startedAt,
    machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
    baseDist,
    settings: { runs: settings.BENCH_RUNS },
    summary,
    runs,
  };
  saveResults('cold-start-paired', data, render(data));
});
