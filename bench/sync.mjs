// Sync proxy overhead: the same upstream process called directly and through SlimFaas's
// /function/bench/echo, paired back to back, for POST bodies of 64 B to 2 MiB at 1 and 16 connections.
// Also samples SlimFaas's RSS while it streams 2 MiB bodies (it must stay flat: bodies are streamed).
// Settings (env): BENCH_WARMUP_S [2], BENCH_DURATION_S [5], BENCH_BODIES [64,4096,262144,2097152],
// BENCH_CONNECTIONS [1,16], BENCH_DIRECT_ONLY [0] (1 = no SlimFaas: a standalone upstream, direct runs only),
// BENCH_RSS_INTERVAL_MS [200], BENCH_KEEP_TMP [0]. See bench/README.md.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { readCpuTicksSplit, readRssKiB } from './lib/processes.mjs';
import { loadAverage1m, machineInfo, saveResults } from './lib/results.mjs';
import { readNumberSettings, runBench } from './lib/run-bench.mjs';
import {
  UPSTREAM,
  functionStatus,
  readPortFile,
  requireCli,
  startSlimFaas,
  upstreamFunction,
  waitFor,
  writeManifest,
} from './lib/slimfaas.mjs';
import { fmt, fmtSigned } from './lib/stats.mjs';
import { SYNC_TARGETS, bytesLabel, renderSyncMarkdown, syncVerdicts } from './lib/sync-report.mjs';
import { requireWrk, runWrk, writeWrkScript } from './lib/wrk.mjs';

const FUNCTION = 'bench';
const CLOCK_TICKS_PER_SECOND = 100;

const settings = readNumberSettings({
  BENCH_WARMUP_S: { fallback: 2 },
  BENCH_DURATION_S: { fallback: 5, min: 1 },
  BENCH_BODIES: { fallback: '64,4096,262144,2097152', list: true, min: 1 },
  BENCH_CONNECTIONS: { fallback: '1,16', list: true, min: 1 },
  BENCH_DIRECT_ONLY: { fallback: 0 },
  BENCH_RSS_INTERVAL_MS: { fallback: 200, min: 10 },
});
const directOnly = settings.BENCH_DIRECT_ONLY === 1;
const runsPerCase = directOnly ? 1 : 2;
const caseCount = settings.BENCH_BODIES.length * settings.BENCH_CONNECTIONS.length;
const plannedSeconds = caseCount * runsPerCase * (settings.BENCH_WARMUP_S + settings.BENCH_DURATION_S);

/** CPU use of a process between two tick readings, in % of one core. */
function cpuPercent(before, after, seconds) {
  if (before === undefined || after === undefined) return undefined;
  return ((after.user + after.system - before.user - before.system) / CLOCK_TICKS_PER_SECOND / seconds) * 100;
}

/** CPU microseconds (user, system) a process spent per request between two tick readings. */
function cpuMicrosPerRequest(before, after, requests) {
  if (before === undefined || after === undefined || !(requests > 0)) return undefined;
  const micros = (ticks) => (ticks / CLOCK_TICKS_PER_SECOND / requests) * 1e6;
  const user = micros(after.user - before.user);
  const system = micros(after.system - before.system);
  return { user, system, total: user + system };
}

/** Samples VmRSS of `pid` every `intervalMs` until stop() is called; stop() returns the summary in MiB. */
function sampleRss(pid, intervalMs) {
  const samples = [];
  const take = () => {
    const kib = readRssKiB(pid);
    if (kib !== undefined) samples.push(kib / 1024);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return () => {
    clearInterval(timer);
    take();
    return { samples: samples.length, minMiB: Math.min(...samples), maxMiB: Math.max(...samples) };
  };
}

/** Warm-up run (discarded), then the measured run, with CPU % of the processes involved. */
async function measure(processes, { url, connections, script, pids, rssPid }) {
  if (settings.BENCH_WARMUP_S > 0) {
    await runWrk(processes, { url, connections, durationSeconds: settings.BENCH_WARMUP_S, script });
  }
  const ticksBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, readCpuTicksSplit(pid)]));
  const startedAt = performance.now();
  const stopRss = rssPid ? sampleRss(rssPid, settings.BENCH_RSS_INTERVAL_MS) : undefined;
  const result = await runWrk(processes, {
    url,
    connections,
    durationSeconds: settings.BENCH_DURATION_S,
    script,
  });
  const rss = stopRss?.();
  const seconds = (performance.now() - startedAt) / 1000;
  const ticksAfter = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, readCpuTicksSplit(pid)]));
  const cpu = Object.fromEntries(
    Object.entries(pids).map(([k]) => [k, cpuPercent(ticksBefore[k], ticksAfter[k], seconds)]),
  );
  const cpuMicros = Object.fromEntries(
    Object.entries(pids).map(([k]) => [
      k,
      cpuMicrosPerRequest(ticksBefore[k], ticksAfter[k], result.requests),
    ]),
  );
  return { ...result, cpuPercent: cpu, cpuMicrosPerRequest: cpuMicros, ...(rss ? { rss } : {}) };
}

/** One POST through `url` must come back as {"bytes": N}: proves bodies are forwarded whole. */
async function checkEcho(url, bytes) {
  const { statusCode, body } = await request(url, { method: 'POST', body: Buffer.alloc(bytes, 'x') });
  const text = await body.text();
  if (statusCode !== 200 || JSON.parse(text).bytes !== bytes) {
    throw new Error(`POST ${bytesLabel(bytes)} to ${url} answered ${statusCode} ${text.slice(0, 200)}`);
  }
}

async function checkPayload(url, bytes) {
  const { statusCode, body } = await request(`${url}?bytes=${bytes}`);
  const received = Buffer.from(await body.arrayBuffer()).length;
  if (statusCode !== 200 || received !== bytes) {
    throw new Error(`GET ${url}?bytes=${bytes} answered ${statusCode} with ${received} bytes`);
  }
}

/** Starts the upstream either standalone (direct-only) or as SlimFaas's function; returns the URLs and PIDs. */
async function startTargets(processes, tmpDir) {
  const portFile = join(tmpDir, `${FUNCTION}.port`);
  if (directOnly) {
    const upstream = processes.start('upstream', process.execPath, [UPSTREAM], {
      env: { PORT: '0', UPSTREAM_PORT_FILE: portFile, FUNCTION_NAME: FUNCTION },
      logFile: join(tmpDir, 'upstream.log'),
    });
    const { port } = await waitFor('the upstream port file', () => readPortFile(portFile), {
      timeoutMs: 10_000,
    });
    return { direct: `http://127.0.0.1:${port}`, upstreamPid: upstream.pid };
  }
  const manifestPath = join(tmpDir, 'slimfaas.yaml');
  writeManifest(manifestPath, {
    schemaVersion: 1,
    name: 'bench-sync',
    cluster: { entrypointPort: 30920 },
    processPorts: { from: 48100, to: 48199 },
    state: { mode: 'persistent', directory: join(tmpDir, 'state') },
    functions: {
      [FUNCTION]: upstreamFunction({
        name: FUNCTION,
        annotations: {
          'SlimFaas/ReplicasMin': '1',
          'SlimFaas/ReplicasAtStart': '1',
          'SlimFaas/TimeoutSecondBeforeSetReplicasMin': '300',
        },
        environment: { UPSTREAM_PORT_FILE: portFile },
      }),
    },
  });
  const slimfaas = await startSlimFaas(processes, { manifestPath, logFile: join(tmpDir, 'slimfaas.log') });
  console.log(`SlimFaas (pid ${slimfaas.pid}) at ${slimfaas.entrypoint}`);
  await waitFor(
    `${FUNCTION} to be ready (NumberReady ≥ 1)`,
    async () => ((await functionStatus(slimfaas.entrypoint, FUNCTION))?.NumberReady ?? 0) >= 1,
    { timeoutMs: 30_000 },
  );
  const { port, pid } = await waitFor('the replica port file', () => readPortFile(portFile), {
    timeoutMs: 10_000,
  });
  processes.watchPid(pid);
  return {
    direct: `http://127.0.0.1:${port}`,
    proxied: `${slimfaas.entrypoint}/function/${FUNCTION}`,
    upstreamPid: pid,
    slimfaas,
  };
}

await runBench('sync', { maxSeconds: plannedSeconds * 1.5 + 120 }, async ({ processes, tmpDir }) => {
  const wrkVersion = requireWrk();
  if (!directOnly) requireCli();
  console.log(
    `sync bench: ${caseCount} cases × ${runsPerCase} runs × (${settings.BENCH_WARMUP_S} s warm-up + ` +
      `${settings.BENCH_DURATION_S} s) ≈ ${Math.round(plannedSeconds)} s`,
  );
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const targets = await startTargets(processes, tmpDir);
  const slimfaasPid = targets.slimfaas?.pid;
  const rssAfterStartKiB = slimfaasPid ? readRssKiB(slimfaasPid) : undefined;
  for (const url of [`${targets.direct}/echo`, ...(targets.proxied ? [`${targets.proxied}/echo`] : [])]) {
    await checkEcho(url, 4096);
    await checkEcho(url, 2 * 1048576);
  }
  if (targets.proxied) await checkPayload(`${targets.proxied}/payload`, 1048576);

  const pids = { upstream: targets.upstreamPid, ...(slimfaasPid ? { slimfaas: slimfaasPid } : {}) };
  await sleep(500);
  const rssBeforeKiB = slimfaasPid ? readRssKiB(slimfaasPid) : undefined;
  const rssRuns = [];
  const cases = [];
  for (const bodyBytes of settings.BENCH_BODIES) {
    const script = writeWrkScript(tmpDir, { method: 'POST', bodyBytes });
    for (const connections of settings.BENCH_CONNECTIONS) {
      const label = `POST ${bytesLabel(bodyBytes)} c=${connections}`;
      const direct = await measure(processes, { url: `${targets.direct}/echo`, connections, script, pids });
      let proxied;
      if (targets.proxied) {
        const rssPid = bodyBytes >= 2 * 1048576 ? slimfaasPid : undefined;
        proxied = await measure(processes, {
          url: `${targets.proxied}/echo`,
          connections,
          script,
          pids,
          rssPid,
        });
        if (proxied.rss) rssRuns.push({ run: label, ...proxied.rss });
      }
      const entry = { bodyBytes, connections, direct, proxied };
      if (proxied) {
        entry.ratio = proxied.requestsPerSecond / direct.requestsPerSecond;
        entry.addedMs = {
          p50: proxied.latencyMs.p50 - direct.latencyMs.p50,
          p95: proxied.latencyMs.p95 - direct.latencyMs.p95,
          p99: proxied.latencyMs.p99 - direct.latencyMs.p99,
        };
      }
      cases.push(entry);
      console.log(
        `${label}: direct ${fmt(direct.requestsPerSecond, 0)} req/s p50 ${fmt(direct.latencyMs.p50, 3)} ms` +
          (proxied
            ? ` | proxied ${fmt(proxied.requestsPerSecond, 0)} req/s p50 ${fmt(proxied.latencyMs.p50, 3)} ms` +
              ` | ratio ${fmt(entry.ratio)} added p50 ${fmtSigned(entry.addedMs.p50, 3)} p99 ${fmtSigned(entry.addedMs.p99, 3)} ms`
            : ''),
      );
    }
  }

  const rssAfterKiB = slimfaasPid ? readRssKiB(slimfaasPid) : undefined;
  let leakedPids;
  if (targets.slimfaas) {
    await processes.stop(slimfaasPid);
    await sleep(200);
    leakedPids = processes.leakedPids();
  }
  const data = {
    bench: 'sync',
    mode: directOnly ? 'direct only, no SlimFaas' : 'direct vs through SlimFaas',
    startedAt,
    machine: { ...machine, wrk: wrkVersion, loadAverage1mAtEnd: loadAverage1m() },
    settings: {
      warmupSeconds: settings.BENCH_WARMUP_S,
      durationSeconds: settings.BENCH_DURATION_S,
      bodies: settings.BENCH_BODIES,
      connections: settings.BENCH_CONNECTIONS,
      rssIntervalMs: settings.BENCH_RSS_INTERVAL_MS,
    },
    targets: SYNC_TARGETS,
    cases,
    verdicts: syncVerdicts(cases),
    ...(slimfaasPid
      ? {
          rss: {
            afterStartMiB: rssAfterStartKiB / 1024,
            beforeMiB: rssBeforeKiB / 1024,
            afterMiB: rssAfterKiB / 1024,
            runs: rssRuns,
          },
          leakedPids,
        }
      : {}),
  };
  saveResults(directOnly ? 'sync-direct' : 'sync', data, renderSyncMarkdown(data));
});
