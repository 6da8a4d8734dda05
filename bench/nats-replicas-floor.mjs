// What replicated JetStream (R3) costs compared with R1, without SlimFaas's HTTP server or dispatcher (issue 6,
// "≥ 1,000 accepted/s on 3 NATS nodes"). The bench starts a 3-server JetStream cluster on loopback (client
// ports BENCH_NATS_PORT [47260] +0..2, routes +10..12, monitoring +20..22) and, for R1 then R3 streams/buckets:
//   1. raw operations at BENCH_CONNECTIONS [16] concurrent loops for BENCH_DURATION_S [3] s each: JetStream
//      publish (1 KiB), KV put (30 B, the claim's size), KV get from the stream leader (allow_direct: false,
//      as the ledger reads); ops/s and the CPU the three nats-servers and this client spend per operation;
//   2. the NATS store itself (dist/stores/nats/nats-state-store.js, so `npm run build` first): BENCH_ELEMENTS
//      [400] enqueues at c=16 (elements/s), then the dispatch ceiling: lease(max 4) + 4 completes in parallel,
//      and 4 independent loops of lease(max 1) + complete (elements/s; no HTTP, so the store's best case).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { ProcessSet, readCpuTicks } from './lib/processes.mjs';
import { loadAverage1m, machineInfo, markdownTable, saveResults } from './lib/results.mjs';
import { readNumberSettings } from './lib/run-bench.mjs';
import { ROOT, waitFor } from './lib/slimfaas.mjs';
import { fmt } from './lib/stats.mjs';

const settings = readNumberSettings({
  BENCH_CONNECTIONS: { fallback: 16, min: 1 },
  BENCH_DURATION_S: { fallback: 3, min: 1 },
  BENCH_ELEMENTS: { fallback: 400, min: 8 },
  BENCH_NATS_PORT: { fallback: 47260, min: 1 },
});
const base = settings.BENCH_NATS_PORT;
const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [2], httpStatusRetries: [500] };

function startCluster(processes, dir) {
  const routes = [0, 1, 2].map((i) => `nats://127.0.0.1:${base + 10 + i}`).join(',');
  return [0, 1, 2].map((i) =>
    processes.start(`nats-server-${i}`, 'nats-server', [
      ...['-js', '-a', '127.0.0.1', '-p', String(base + i), '-m', String(base + 20 + i)],
      ...['-sd', join(dir, `d${i}`), '-n', `floor-${i}`, '--cluster_name', 'floor'],
      ...['--cluster', `nats://127.0.0.1:${base + 10 + i}`, '--routes', routes],
    ]),
  );
}

async function metaLeaderEverywhere() {
  const states = await Promise.all(
    [0, 1, 2].map(async (i) => {
      try {
        const response = await fetch(`http://127.0.0.1:${base + 20 + i}/jsz`);
        return ((await response.json()).meta_cluster?.leader ?? '') !== '';
      } catch {
        return false;
      }
    }),
  );
  return states.every(Boolean);
}

/** Runs `op` in BENCH_CONNECTIONS loops for BENCH_DURATION_S; ops/s and CPU µs per op (servers, client). */
async function measure(name, op, serverPids) {
  const pids = [...serverPids, process.pid];
  const before = pids.map(readCpuTicks);
  const deadline = performance.now() + settings.BENCH_DURATION_S * 1000;
  const startedAt = performance.now();
  let n = 0;
  const loop = async () => {
    while (performance.now() < deadline) await op(n++);
  };
  await Promise.all(Array.from({ length: settings.BENCH_CONNECTIONS }, loop));
  const seconds = (performance.now() - startedAt) / 1000;
  const micros = pids.map((pid, i) => ((readCpuTicks(pid) - before[i]) * 10_000) / n);
  const row = {
    name,
    opsPerSecond: n / seconds,
    serversMicrosPerOp: micros.slice(0, 3).reduce((a, b) => a + b, 0),
    clientMicrosPerOp: micros[3],
  };
  console.log(
    `${name}: ${fmt(row.opsPerSecond, 0)}/s, nats-servers ${fmt(row.serversMicrosPerOp, 0)} µs/op, client ${fmt(row.clientMicrosPerOp, 0)} µs/op`,
  );
  return row;
}

async function rawOperations(nc, replicas, serverPids) {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `FLOOR_R${replicas}`;
  await jsm.streams.add({
    name: stream,
    subjects: [`floor${replicas}.>`],
    num_replicas: replicas,
    retention: RetentionPolicy.Workqueue,
  });
  const kv = await new Kvm(js).create(`floor_r${replicas}`, { history: 1, allow_direct: false, replicas });
  const payload = new Uint8Array(1024).fill(7);
  return [
    await measure(`R${replicas} publish 1 KiB`, () => js.publish(`floor${replicas}.q`, payload), serverPids),
    await measure(`R${replicas} KV put 30 B`, (i) => kv.put(`k${i % 100}`, '{"state":"queued"}'), serverPids),
    await measure(`R${replicas} KV get (leader)`, (i) => kv.get(`k${i % 100}`), serverPids),
  ];
}

async function storeCeiling(replicas) {
  const { NatsStateStore } = await import(join(ROOT, 'dist', 'stores', 'nats', 'nats-state-store.js'));
  const servers = [0, 1, 2].map((i) => `nats://127.0.0.1:${base + i}`);
  const store = await NatsStateStore.open({ servers, replicas, timeoutMs: 10_000 });
  const queue = `floor-r${replicas}`;
  const payload = new Uint8Array(1024).fill(7);
  const total = settings.BENCH_ELEMENTS;
  try {
    let startedAt = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = w; i < total; i += 16) {
          await store.enqueue(queue, { id: `e${i}`, payload, enqueuedAtMs: Date.now(), policy: POLICY });
        }
      }),
    );
    const enqueuePerSecond = total / ((performance.now() - startedAt) / 1000);
    const lease = (max) => store.lease(queue, { max, owner: 'floor', leaseMs: 60_000, nowMs: Date.now() });
    startedAt = performance.now();
    let batched = 0;
    while (batched < total / 2) {
      const { elements } = await lease(4);
      if (elements.length === 0) break;
      await Promise.all(elements.map((e) => store.complete(queue, e.id, e.leaseToken)));
      batched += elements.length;
    }
    const batchedPerSecond = batched / ((performance.now() - startedAt) / 1000);
    startedAt = performance.now();
    let parallel = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (;;) {
          const { elements } = await lease(1);
          if (elements.length === 0) return;
          for (const e of elements) await store.complete(queue, e.id, e.leaseToken);
          parallel += elements.length;
        }
      }),
    );
    const parallelPerSecond = parallel / ((performance.now() - startedAt) / 1000);
    const row = { replicas, enqueuePerSecond, batchedPerSecond, parallelPerSecond };
    console.log(
      `R${replicas} store: enqueue ${fmt(enqueuePerSecond, 0)}/s; lease(4)+4 completes ${fmt(batchedPerSecond, 0)}/s; 4 × lease(1)+complete ${fmt(parallelPerSecond, 0)}/s`,
    );
    return row;
  } finally {
    await store.close();
  }
}

const processes = new ProcessSet();
const dir = mkdtempSync(join(tmpdir(), 'slimfaas-bench-nats-replicas-'));
const hardStop = setTimeout(() => {
  processes.killAllNow();
  process.exit(1);
}, 240_000);
try {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const servers = startCluster(processes, dir);
  await waitFor('a JetStream meta leader on every server', metaLeaderEverywhere, { timeoutMs: 30_000 });
  const nc = await connect({ servers: [0, 1, 2].map((i) => `nats://127.0.0.1:${base + i}`) });
  const pids = servers.map((s) => s.pid);
  const raw = [...(await rawOperations(nc, 1, pids)), ...(await rawOperations(nc, 3, pids))];
  await nc.close();
  const store = [await storeCeiling(1), await storeCeiling(3)];
  const data = {
    bench: 'nats-replicas-floor',
    startedAt,
    machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
    settings,
    raw,
    store,
  };
  saveResults(
    'nats-replicas-floor',
    data,
    [
      `# nats-replicas-floor — ${startedAt}`,
      '',
      `3 nats-servers (2.9) in one cluster, one Node client, ${settings.BENCH_CONNECTIONS} loops. Load ${fmt(machine.loadAverage1m)} at start, ${fmt(data.machine.loadAverage1mAtEnd)} at end.`,
      '',
      markdownTable(
        ['operation', 'ops/s', 'nats-servers CPU µs/op', 'client CPU µs/op'],
        raw.map((r) => [
          r.name,
          fmt(r.opsPerSecond, 0),
          fmt(r.serversMicrosPerOp, 0),
          fmt(r.clientMicrosPerOp, 0),
        ]),
      ),
      '',
      markdownTable(
        [
          'replicas',
          'store enqueue/s (c=16)',
          'lease(4) + 4 completes, elements/s',
          '4 × lease(1) + complete, elements/s',
        ],
        store.map((r) => [
          r.replicas,
          fmt(r.enqueuePerSecond, 0),
          fmt(r.batchedPerSecond, 0),
          fmt(r.parallelPerSecond, 0),
        ]),
      ),
    ].join('\n'),
  );
} finally {
  clearTimeout(hardStop);
  await processes.stopAll();
  rmSync(dir, { recursive: true, force: true });
}
