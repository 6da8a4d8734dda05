// At-least-once across a crash: kill -9 of SlimFaas while a burst of accepted async requests is being delivered,
// restart it on the same state directory, and check that every accepted request reaches the function
// (duplicates only for the deliveries in flight at the kill).
//   1. SlimFaas on a persistent state directory (temp), one warm function running test/helpers/fn-server.mjs,
//      which POSTs each /event-sink request it receives to a collector inside this process
//      (bench/lib/event-collector.mjs: element id, try number, arrival time).
//   2. BENCH_CRASH_MESSAGES POSTs of BENCH_CRASH_BODY_BYTES to /async-function/<fn>/event-sink/x at
//      BENCH_CRASH_CONNECTIONS; every id answered 202 is recorded, anything else counted.
//   3. Once the burst is over (or during it, BENCH_CRASH_KILL_DURING_BURST=1) and BENCH_CRASH_KILL_AT of it was
//      delivered: SIGKILL to the SlimFaas PID only. Its watchdog must then stop the replicas: checked by PID.
//   4. The store as the kill left it (<state>/store/slimfaas.db, read-only): elements still queued, and those
//      leased (= in flight at the kill, from the store's point of view).
//   5. Restart with the same manifest; wait until every accepted id was received at least once, then until the
//      queue is empty (the leases of the killed process expire after HttpTimeout + 10 s and are redelivered).
// Settings (env): BENCH_CRASH_MESSAGES [10000], BENCH_CRASH_CONNECTIONS [16], BENCH_CRASH_BODY_BYTES [1024],
// BENCH_CRASH_PARALLEL [8], BENCH_CRASH_SINK_DELAY_MS [5], BENCH_CRASH_KILL_AT [0.2],
// BENCH_CRASH_KILL_DURING_BURST [0], BENCH_CRASH_HTTP_TIMEOUT_S [0 = SlimFaas's default, 120],
// BENCH_CRASH_DRAIN_TIMEOUT_S [300], BENCH_KEEP_TMP [0].
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { renderAsyncCrashMarkdown } from './lib/async-crash-report.mjs';
import { startEventCollector } from './lib/event-collector.mjs';
import { descendantPids, isAlive } from './lib/processes.mjs';
import { loadAverage1m, machineInfo, saveResults } from './lib/results.mjs';
import { readNumberSettings, runBench } from './lib/run-bench.mjs';
import { ROOT, functionStatus, requireCli, startSlimFaas, waitFor, writeManifest } from './lib/slimfaas.mjs';
import { fmt, summarize } from './lib/stats.mjs';

const FUNCTION = 'crash-sink';
const FN_SERVER = join(ROOT, 'test', 'helpers', 'fn-server.mjs');

const settings = readNumberSettings({
  BENCH_CRASH_MESSAGES: { fallback: 10_000, min: 1 },
  BENCH_CRASH_CONNECTIONS: { fallback: 16, min: 1 },
  BENCH_CRASH_BODY_BYTES: { fallback: 1024, min: 0 },
  BENCH_CRASH_PARALLEL: { fallback: 8, min: 1 },
  BENCH_CRASH_SINK_DELAY_MS: { fallback: 5, min: 0 },
  BENCH_CRASH_KILL_AT: { fallback: 0.2, min: 0 },
  BENCH_CRASH_KILL_DURING_BURST: { fallback: 0, min: 0 },
  BENCH_CRASH_HTTP_TIMEOUT_S: { fallback: 0, min: 0 },
  BENCH_CRASH_DRAIN_TIMEOUT_S: { fallback: 300, min: 1 },
});
const KILL_DURING_BURST = settings.BENCH_CRASH_KILL_DURING_BURST === 1;
const REPLICAS_GONE_TIMEOUT_MS = 15_000;
const maxSeconds = 60 + settings.BENCH_CRASH_MESSAGES / 200 + settings.BENCH_CRASH_DRAIN_TIMEOUT_S + 120;

const epochMs = () => performance.timeOrigin + performance.now();

function writeCrashManifest(tmpDir, collectorUrl) {
  const manifestPath = join(tmpDir, 'slimfaas.yaml');
  const parallel = String(settings.BENCH_CRASH_PARALLEL);
  const annotations = {
    'SlimFaas/Function': 'true',
    'SlimFaas/ReplicasMin': '1',
    'SlimFaas/ReplicasAtStart': '1',
    'SlimFaas/TimeoutSecondBeforeSetReplicasMin': '300',
    'SlimFaas/NumberParallelRequest': parallel,
    'SlimFaas/NumberParallelRequestPerPod': parallel,
  };
  if (settings.BENCH_CRASH_HTTP_TIMEOUT_S > 0) {
    annotations['SlimFaas/Configuration'] = JSON.stringify({
      DefaultAsync: { HttpTimeout: settings.BENCH_CRASH_HTTP_TIMEOUT_S },
    });
  }
  writeManifest(manifestPath, {
    schemaVersion: 1,
    name: 'bench-async-crash',
    cluster: { entrypointPort: 30922 },
    processPorts: { from: 31300, to: 31399 },
    state: { mode: 'persistent', directory: join(tmpDir, 'state') },
    functions: {
      [FUNCTION]: {
        command: [process.execPath, FN_SERVER],
        workingDirectory: ROOT,
        annotations,
        environment: {
          TEST_FUNCTION: FUNCTION,
          EVENT_COLLECTOR_URL: collectorUrl,
          SINK_DELAY_MS: String(settings.BENCH_CRASH_SINK_DELAY_MS),
        },
        health: { path: '/health', periodSeconds: 1, timeoutSeconds: 2, startupTimeoutSeconds: 30 },
      },
    },
  });
  return manifestPath;
}

function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

/** SlimFaas's descendants, split into function replicas (fn-server) and the rest (its watchdog). */
function childrenOf(pid) {
  const all = descendantPids(pid).map((p) => {
    const command = commandLine(p) ?? '?';
    const kind = command.includes('fn-server.mjs')
      ? 'replica'
      : command.includes('slimfaas-watchdog')
        ? 'watchdog'
        : `other: ${command.slice(0, 50)}`;
    return { pid: p, command, kind };
  });
  return {
    replicas: all.filter((p) => p.kind === 'replica'),
    others: all.filter((p) => p.kind !== 'replica'),
  };
}

/** Starts SlimFaas and waits until the function has a ready replica; registers its descendants. */
async function startAndWait(processes, manifestPath, logFile) {
  const startedAt = epochMs();
  const slimfaas = await startSlimFaas(processes, { manifestPath, logFile });
  const entrypointAt = epochMs();
  await waitFor(
    `${FUNCTION} to be ready`,
    async () => ((await functionStatus(slimfaas.entrypoint, FUNCTION))?.NumberReady ?? 0) >= 1,
    { timeoutMs: 30_000, intervalMs: 20 },
  );
  const readyAt = epochMs();
  const children = childrenOf(slimfaas.pid);
  for (const p of [...children.replicas, ...children.others]) processes.watchPid(p.pid);
  console.log(
    `SlimFaas pid ${slimfaas.pid} at ${slimfaas.entrypoint}; replicas ${children.replicas.map((p) => p.pid).join(', ') || 'none'}, ` +
      `other descendants ${children.others.map((p) => `${p.pid} (${p.command.slice(0, 60)})`).join(', ') || 'none'}`,
  );
  return { slimfaas, startedAt, entrypointAt, readyAt, children };
}

/** The store as the kill left it: counts per state and the leased ids (read-only, before the restart). */
function readStore(stateDir) {
  const file = join(stateDir, 'store', 'slimfaas.db');
  if (!existsSync(file)) return { error: `${file} not found` };
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const names = { 0: 'ready', 1: 'delayed', 2: 'leased', 3: 'dead' };
    const counts = { ready: 0, delayed: 0, leased: 0, dead: 0 };
    for (const row of db
      .prepare('SELECT state, COUNT(*) AS n FROM queue_elements WHERE queue = ? GROUP BY state')
      .all(FUNCTION)) {
      counts[names[row.state] ?? `state${row.state}`] = row.n;
    }
    const leased = db
      .prepare(
        'SELECT id, attempts, available_at_ms AS expiresAtMs FROM queue_elements WHERE queue = ? AND state = 2',
      )
      .all(FUNCTION);
    return { counts, leased };
  } catch (error) {
    return { error: String(error?.message ?? error) };
  } finally {
    db?.close();
  }
}

/**
 * Sends the burst: `total` POSTs at `connections`; stops early when `shouldStop()` turns true (kill during the
 * burst). Returns the accepted ids (with when their 202 arrived), non-202 answers and errors.
 */
async function sendBurst(entrypoint, { total, connections, bodyBytes, accepted, shouldStop }) {
  const pool = new Pool(entrypoint, { connections });
  const body = Buffer.alloc(bodyBytes, 'x');
  const acceptLatencyMs = [];
  const non202 = {};
  const errors = {};
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < total && !shouldStop()) {
      next += 1;
      sent += 1;
      const t0 = performance.now();
      try {
        const response = await pool.request({
          method: 'POST',
          path: `/async-function/${FUNCTION}/event-sink/x`,
          headers: { 'content-type': 'application/octet-stream' },
          body,
        });
        await response.body.dump();
        if (response.statusCode === 202) {
          accepted.set(response.headers['slimfaas-element-id'], epochMs());
          acceptLatencyMs.push(performance.now() - t0);
        } else {
          non202[response.statusCode] = (non202[response.statusCode] ?? 0) + 1;
        }
      } catch (error) {
        const code = error?.code ?? error?.name ?? 'error';
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
  };
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - startedAt) / 1000;
  await pool.destroy();
  return { sent, accepted, acceptLatencyMs, non202, errors, seconds };
}

/** Waits until every PID is gone; returns `{ pid, goneAfterMs }` per PID (goneAfterMs undefined if it stayed). */
async function waitGone(pids, sinceMs, timeoutMs) {
  const gone = new Map();
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    for (const pid of pids) if (!gone.has(pid) && !isAlive(pid)) gone.set(pid, epochMs() - sinceMs);
    if (gone.size === pids.length) break;
    await sleep(10);
  }
  return pids.map((pid) => ({ pid, goneAfterMs: gone.get(pid), alive: !gone.has(pid) && isAlive(pid) }));
}

function analyse({ burst, collector, killAtMs, restartAt, store, readyAfterRestartAt }) {
  const deliveries = collector.deliveries;
  const phase = (d) =>
    d.atMs < killAtMs ? 'beforeKill' : d.atMs < restartAt ? 'betweenKillAndRestart' : 'afterRestart';
  const byPhase = { beforeKill: 0, betweenKillAndRestart: 0, afterRestart: 0 };
  const idsBeforeKill = new Set();
  const firstSeen = new Map();
  const tryNumbers = {};
  for (const d of deliveries) {
    const p = phase(d);
    byPhase[p] += 1;
    if (p === 'beforeKill') idsBeforeKill.add(d.id);
    if (!firstSeen.has(d.id)) firstSeen.set(d.id, d);
    tryNumbers[d.tryNumber] = (tryNumbers[d.tryNumber] ?? 0) + 1;
  }
  const accepted = burst.accepted;
  const missing = [...accepted.keys()].filter((id) => !collector.received.has(id));
  const notAccepted = [...collector.received.keys()].filter((id) => !accepted.has(id));
  const leasedIds = new Set((store.leased ?? []).map((r) => r.id));
  const leasedAndReceivedBeforeRestart = [...leasedIds].filter((id) => {
    const first = firstSeen.get(id);
    return first !== undefined && first.atMs < restartAt;
  }).length;
  const duplicates = [];
  for (const [id, count] of collector.received) {
    if (count < 2) continue;
    const list = deliveries.filter((d) => d.id === id);
    duplicates.push({
      id,
      count,
      leasedAtKill: leasedIds.has(id),
      tries: list.map((d) => d.tryNumber),
      phases: list.map(phase),
      firstMsFromKill: list[0].atMs - killAtMs,
      lastMsAfterRestart: list[list.length - 1].atMs - restartAt,
    });
  }
  const firstAfterRestart = deliveries.find((d) => d.atMs >= restartAt);
  // When the last accepted id that was not leased at the kill arrived: the drain without the lease expiry.
  let lastNotLeasedAt;
  for (const id of accepted.keys()) {
    const first = firstSeen.get(id);
    if (first && !leasedIds.has(id)) lastNotLeasedAt = Math.max(lastNotLeasedAt ?? 0, first.atMs);
  }
  const afterRestart = deliveries.filter((d) => d.atMs >= restartAt);
  const restartRateWindow = afterRestart.filter((d) => !leasedIds.has(d.id));
  return {
    deliveries: deliveries.length,
    deliveriesByPhase: byPhase,
    uniqueDeliveredBeforeKill: idsBeforeKill.size,
    tryNumbers,
    missing: missing.length,
    missingSample: missing.slice(0, 10),
    deliveredButNotAccepted: notAccepted.length,
    duplicates: duplicates.length,
    duplicateDeliveries: duplicates.reduce((n, d) => n + d.count - 1, 0),
    duplicatesLeasedAtKill: duplicates.filter((d) => d.leasedAtKill).length,
    duplicateDetails: duplicates.slice(0, 50),
    leasedAtKill: leasedIds.size,
    leasedAtKillAndReceivedBeforeRestart: leasedAndReceivedBeforeRestart,
    firstDeliveryAfterRestartMs: firstAfterRestart ? firstAfterRestart.atMs - restartAt : undefined,
    notLeasedReceivedAfterRestartS:
      lastNotLeasedAt !== undefined && lastNotLeasedAt >= restartAt
        ? (lastNotLeasedAt - restartAt) / 1000
        : undefined,
    deliveriesPerSecondAfterRestart:
      restartRateWindow.length > 1
        ? (restartRateWindow.length - 1) /
          ((restartRateWindow.at(-1).atMs - restartRateWindow[0].atMs) / 1000)
        : undefined,
    firstDeliveryAfterReadyMs: firstAfterRestart ? firstAfterRestart.atMs - readyAfterRestartAt : undefined,
  };
}

await runBench('async-crash', { maxSeconds }, async ({ processes, tmpDir }) => {
  requireCli();
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const collector = await startEventCollector();
  try {
    const manifestPath = writeCrashManifest(tmpDir, collector.url);
    const first = await startAndWait(processes, manifestPath, join(tmpDir, 'slimfaas-1.log'));
    if (first.children.replicas.length === 0) throw new Error('no function replica found under SlimFaas');

    // The burst, and the kill once enough was delivered.
    const total = settings.BENCH_CRASH_MESSAGES;
    let killed = false;
    let burstDone = false;
    let killAtMs;
    let snapshotAtKill;
    let burst;
    const acceptedIds = new Map();
    const kill = () => {
      killAtMs = epochMs();
      snapshotAtKill = {
        deliveries: collector.deliveries.length,
        uniqueDelivered: collector.received.size,
        acceptedSoFar: acceptedIds.size,
        burstDone,
      };
      process.kill(first.slimfaas.pid, 'SIGKILL');
      killed = true;
    };
    const killTarget = () =>
      Math.ceil(settings.BENCH_CRASH_KILL_AT * (KILL_DURING_BURST ? total : acceptedIds.size));
    const killer = (async () => {
      const deadline = performance.now() + maxSeconds * 1000;
      while (!killed && performance.now() < deadline) {
        if ((KILL_DURING_BURST || burstDone) && collector.received.size >= killTarget()) kill();
        else await sleep(2);
      }
    })();
    console.log(
      `sending ${total} POSTs of ${settings.BENCH_CRASH_BODY_BYTES} B at c=${settings.BENCH_CRASH_CONNECTIONS}; ` +
        `kill -9 once ${settings.BENCH_CRASH_KILL_AT * 100}% is delivered${KILL_DURING_BURST ? ' (during the burst)' : ' after the burst'}`,
    );
    const burstStartedAt = epochMs();
    burst = await sendBurst(first.slimfaas.entrypoint, {
      total,
      connections: settings.BENCH_CRASH_CONNECTIONS,
      bodyBytes: settings.BENCH_CRASH_BODY_BYTES,
      accepted: acceptedIds,
      shouldStop: () => killed,
    });
    burstDone = true;
    const deliveredAtBurstEnd = collector.received.size;
    console.log(
      `burst: ${burst.accepted.size} accepted of ${burst.sent} sent in ${fmt(burst.seconds, 2)} s ` +
        `(${fmt(burst.accepted.size / burst.seconds, 0)}/s); ${deliveredAtBurstEnd} delivered by then`,
    );
    await killer;
    if (!killed) throw new Error('the kill condition was never met');
    const killExit = await first.slimfaas.exited;
    console.log(
      `killed SlimFaas at ${snapshotAtKill.uniqueDelivered} delivered (exit signal ${killExit.signal})`,
    );

    // The watchdog must stop the replicas.
    const watched = [...first.children.replicas, ...first.children.others];
    const gone = await waitGone(
      watched.map((p) => p.pid),
      killAtMs,
      REPLICAS_GONE_TIMEOUT_MS,
    );
    const replicasAfterKill = watched.map((p, i) => ({ ...p, ...gone[i] }));
    const survivors = replicasAfterKill.filter((p) => p.alive);
    console.log(
      `after the kill: ${replicasAfterKill.map((p) => `${p.kind} ${p.pid} gone after ${fmt(p.goneAfterMs, 0)} ms`).join(', ')}`,
    );

    // The store as the kill left it.
    const store = readStore(join(tmpDir, 'state'));
    console.log(`store at the kill: ${JSON.stringify(store.counts ?? store.error)}`);
    const deliveredBeforeRestart = collector.received.size;

    // Restart and drain.
    const second = await startAndWait(processes, manifestPath, join(tmpDir, 'slimfaas-2.log'));
    const restartAt = second.startedAt;
    const drainDeadline = performance.now() + settings.BENCH_CRASH_DRAIN_TIMEOUT_S * 1000;
    let pending = [...burst.accepted.keys()].filter((id) => !collector.received.has(id));
    let allReceivedAt;
    while (performance.now() < drainDeadline) {
      pending = pending.filter((id) => !collector.received.has(id));
      if (pending.length === 0) {
        allReceivedAt = epochMs();
        break;
      }
      await sleep(20);
    }
    console.log(
      allReceivedAt
        ? `every accepted id received ${fmt((allReceivedAt - restartAt) / 1000, 2)} s after the restart`
        : `${pending.length} accepted ids still missing after ${settings.BENCH_CRASH_DRAIN_TIMEOUT_S} s`,
    );
    // Then until the queue is empty: the killed process's leases expire and those elements are redelivered.
    let queueEmptyAt;
    let lastQueue;
    while (allReceivedAt && performance.now() < drainDeadline) {
      const status = await functionStatus(second.slimfaas.entrypoint, FUNCTION);
      lastQueue = status?.Queue;
      if (lastQueue && lastQueue.Ready + lastQueue.InFlight + lastQueue.RetryPending === 0) {
        queueEmptyAt = epochMs();
        break;
      }
      await sleep(100);
    }
    await sleep(300); // stragglers to the collector
    console.log(
      queueEmptyAt
        ? `queue empty ${fmt((queueEmptyAt - restartAt) / 1000, 2)} s after the restart (${JSON.stringify(lastQueue)})`
        : `queue not empty by the deadline: ${JSON.stringify(lastQueue)}`,
    );
    const stop = await processes.stop(second.slimfaas.pid);
    await sleep(200);

    const analysis = analyse({
      burst,
      collector,
      killAtMs,
      restartAt,
      store,
      readyAfterRestartAt: second.readyAt,
    });
    const data = {
      bench: 'async-crash',
      startedAt,
      machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
      settings,
      burst: {
        sent: burst.sent,
        accepted: burst.accepted.size,
        non202: burst.non202,
        errors: burst.errors,
        seconds: burst.seconds,
        acceptedPerSecond: burst.accepted.size / burst.seconds,
        acceptLatencyMs: summarize(burst.acceptLatencyMs),
        deliveredAtBurstEnd,
        deliveriesPerSecondDuringBurst: deliveredAtBurstEnd / burst.seconds,
        startedAt: burstStartedAt,
      },
      kill: {
        atMs: killAtMs,
        msAfterBurstStart: killAtMs - burstStartedAt,
        ...snapshotAtKill,
        exit: killExit,
        processesAfterKill: replicasAfterKill,
        survivors: survivors.map((p) => p.pid),
      },
      store,
      deliveredBeforeRestart,
      restart: {
        entrypointAfterMs: second.entrypointAt - restartAt,
        readyAfterMs: second.readyAt - restartAt,
        allReceivedAfterS: allReceivedAt ? (allReceivedAt - restartAt) / 1000 : undefined,
        queueEmptyAfterS: queueEmptyAt ? (queueEmptyAt - restartAt) / 1000 : undefined,
        finalQueue: lastQueue,
        stoppedWith: stop,
      },
      analysis,
      malformedCollectorPosts: collector.malformed(),
      leakedPids: processes.leakedPids(),
    };
    data.store = { counts: store.counts, error: store.error, leasedSample: store.leased?.slice(0, 20) };
    data.verdicts = {
      noneMissing: analysis.missing === 0,
      replicasStoppedAfterKill: survivors.length === 0,
      duplicatesWithinInFlight: analysis.duplicates <= settings.BENCH_CRASH_PARALLEL,
      killDuringDeliveries: snapshotAtKill.uniqueDelivered < snapshotAtKill.acceptedSoFar,
    };
    saveResults('async-crash', data, renderAsyncCrashMarkdown(data));
    if (analysis.missing > 0) throw new Error(`${analysis.missing} accepted requests were never delivered`);
    if (survivors.length > 0)
      throw new Error(`replicas outlived the killed SlimFaas: ${survivors.map((p) => p.pid).join(', ')}`);
  } finally {
    await collector.close();
  }
});
