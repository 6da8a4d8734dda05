// The floor under the async route on a NATS store (issue 6), without SlimFaas's HTTP server or dispatcher:
// one `nats-server -js` of our own on loopback, one Node client, BENCH_CONNECTIONS [16] concurrent loops for
// BENCH_DURATION_S [5] s each, 1 KiB payloads:
//   publish         one JetStream publish per element (what a 202 needs at the least: the stored PubAck)
//   claim+publish   the NATS store's enqueue: KV create (dedup claim) → publish (msgID) → KV update (confirm)
// Prints ops/s, latency p50/p99 and the CPU of nats-server and of this process. Port: BENCH_NATS_PORT [48223].
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, headers } from '@nats-io/transport-node';
import { ProcessSet, readCpuTicks } from './lib/processes.mjs';
import { loadAverage1m, machineInfo, markdownTable, saveResults } from './lib/results.mjs';
import { readNumberSettings } from './lib/run-bench.mjs';
import { fmt, summarize } from './lib/stats.mjs';

const settings = readNumberSettings({
  BENCH_CONNECTIONS: { fallback: 16, min: 1 },
  BENCH_DURATION_S: { fallback: 5, min: 1 },
  BENCH_NATS_PORT: { fallback: 48223, min: 1 },
});

async function measure(name, op, natsPid) {
  const latencies = [];
  const deadline = performance.now() + settings.BENCH_DURATION_S * 1000;
  const ticks = [readCpuTicks(natsPid), readCpuTicks(process.pid)];
  const startedAt = performance.now();
  let n = 0;
  const loop = async (worker) => {
    while (performance.now() < deadline) {
      const t = performance.now();
      await op(`${worker}-${n++}`);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: settings.BENCH_CONNECTIONS }, (_, i) => loop(i)));
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = (pid, i) => ((readCpuTicks(pid) - ticks[i]) / 100 / seconds) * 100;
  const s = summarize(latencies);
  const row = {
    name,
    opsPerSecond: latencies.length / seconds,
    p50Ms: s.p50,
    p99Ms: s.p99,
    natsCpuPercent: cpu(natsPid, 0),
    clientCpuPercent: cpu(process.pid, 1),
  };
  console.log(`${name}: ${fmt(row.opsPerSecond, 0)}/s p50 ${fmt(row.p50Ms, 2)} p99 ${fmt(row.p99Ms, 2)} ms`);
  return row;
}

const processes = new ProcessSet();
const dir = mkdtempSync(join(tmpdir(), 'slimfaas-bench-nats-floor-'));
const hardStop = setTimeout(() => {
  processes.killAllNow();
  process.exit(1);
}, 120_000);
try {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const port = settings.BENCH_NATS_PORT;
  const server = processes.start('nats-server', 'nats-server', [
    '-js',
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-sd',
    join(dir, 'js'),
  ]);
  let nc;
  for (let i = 0; i < 100 && nc === undefined; i++) {
    nc = await connect({ servers: `127.0.0.1:${port}` }).catch(() => undefined);
    if (nc === undefined) await sleep(100);
  }
  if (nc === undefined) throw new Error('nats-server did not accept a connection within 10 s');
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'FLOOR', subjects: ['floor.>'], retention: RetentionPolicy.Workqueue });
  const js = jetstream(nc);
  const kv = await new Kvm(nc).create('floor-claims', { history: 1 });
  const payload = new Uint8Array(1024).fill(7);
  const publish = (id) => {
    const h = headers();
    h.set('Id', id);
    return js.publish('floor.q', payload, { headers: h, msgID: id });
  };
  const rows = [];
  rows.push(await measure('publish', publish, server.pid));
  rows.push(
    await measure(
      'claim+publish+confirm',
      async (id) => {
        const key = `c.${id}`;
        const revision = await kv.create(key, '{"state":"pending"}');
        await publish(`x${id}`);
        await kv.update(key, '{"state":"queued"}', revision);
      },
      server.pid,
    ),
  );
  await nc.close();
  await processes.stop(server.pid);
  const data = {
    bench: 'nats-enqueue-floor',
    startedAt,
    machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
    settings,
    rows,
  };
  saveResults(
    'nats-enqueue-floor',
    data,
    [
      `# nats-enqueue-floor — ${startedAt}`,
      '',
      `One nats-server -js (2.9), one Node client, ${settings.BENCH_CONNECTIONS} concurrent loops, 1 KiB. Load ${fmt(machine.loadAverage1m)} at start, ${fmt(data.machine.loadAverage1mAtEnd)} at end.`,
      '',
      markdownTable(
        ['operation', 'ops/s', 'p50 ms', 'p99 ms', 'nats-server CPU %', 'client CPU %'],
        rows.map((r) => [
          r.name,
          fmt(r.opsPerSecond, 0),
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          fmt(r.natsCpuPercent, 0),
          fmt(r.clientCpuPercent, 0),
        ]),
      ),
    ].join('\n'),
  );
} finally {
  clearTimeout(hardStop);
  await processes.stopAll();
  rmSync(dir, { recursive: true, force: true });
}
