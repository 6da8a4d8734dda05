// Is a JetStream KV compare-and-set serializable on this nats-server? The NATS store's queue ledger, idempotence
// claims, leadership lease and activity max-merge all rely on `kv.update(key, value, revision)` failing when the
// key changed since `revision`. The bench starts a 3-server cluster on loopback (client ports BENCH_NATS_PORT
// [47270] +0..2, routes +10..12, monitoring +20..22) and, for an R1 then an R3 bucket, runs BENCH_WRITERS [4]
// writers (each on its own connection, spread over the servers) for BENCH_DURATION_S [4] s, each looping
// get → update(n + 1, revision). Every successful update must be counted once in the final value: "lost
// updates" = successful updates − final value, 0 on a correct server. nats-server before 2.9.21 checks the
// expected revision of a clustered stream before the Raft proposal only (nats-io/nats-server#4320, fixed by
// #4319), so concurrent updates with the same revision can all succeed on R3.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { ProcessSet } from './lib/processes.mjs';
import { loadAverage1m, machineInfo, markdownTable, saveResults } from './lib/results.mjs';
import { readNumberSettings } from './lib/run-bench.mjs';
import { waitFor } from './lib/slimfaas.mjs';

const settings = readNumberSettings({
  BENCH_WRITERS: { fallback: 4, min: 2 },
  BENCH_DURATION_S: { fallback: 4, min: 1 },
  BENCH_NATS_PORT: { fallback: 47270, min: 1 },
});
const base = settings.BENCH_NATS_PORT;
const urls = [0, 1, 2].map((i) => `nats://127.0.0.1:${base + i}`);

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

async function race(replicas) {
  const conns = await Promise.all(
    Array.from({ length: settings.BENCH_WRITERS }, (_, i) => connect({ servers: urls[i % 3] })),
  );
  try {
    const bucket = `cas_r${replicas}`;
    const first = await new Kvm(jetstream(conns[0])).create(bucket, {
      history: 1,
      allow_direct: false,
      replicas,
    });
    await first.put('n', '0');
    const kvs = [
      first,
      ...(await Promise.all(conns.slice(1).map((nc) => new Kvm(jetstream(nc)).open(bucket)))),
    ];
    let successes = 0;
    let conflicts = 0;
    const deadline = performance.now() + settings.BENCH_DURATION_S * 1000;
    await Promise.all(
      kvs.map(async (kv) => {
        while (performance.now() < deadline) {
          const entry = await kv.get('n');
          try {
            await kv.update('n', String(Number(entry.string()) + 1), entry.revision);
            successes++;
          } catch (error) {
            if (!String(error?.message).includes('wrong last sequence')) throw error;
            conflicts++;
          }
        }
      }),
    );
    const final = Number((await first.get('n')).string());
    const row = { replicas, successes, conflicts, final, lostUpdates: successes - final };
    console.log(
      `R${replicas}: ${successes} successful updates, ${conflicts} conflicts, final value ${final}, lost updates ${row.lostUpdates}`,
    );
    return row;
  } finally {
    await Promise.all(conns.map((nc) => nc.close()));
  }
}

const processes = new ProcessSet();
const dir = mkdtempSync(join(tmpdir(), 'slimfaas-bench-cas-'));
const hardStop = setTimeout(() => {
  processes.killAllNow();
  process.exit(1);
}, 120_000);
try {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const routes = [0, 1, 2].map((i) => `nats://127.0.0.1:${base + 10 + i}`).join(',');
  for (const i of [0, 1, 2]) {
    processes.start(`nats-server-${i}`, 'nats-server', [
      ...['-js', '-a', '127.0.0.1', '-p', String(base + i), '-m', String(base + 20 + i)],
      ...['-sd', join(dir, `d${i}`), '-n', `cas-${i}`, '--cluster_name', 'cas'],
      ...['--cluster', `nats://127.0.0.1:${base + 10 + i}`, '--routes', routes],
    ]);
  }
  await waitFor('a JetStream meta leader on every server', metaLeaderEverywhere, { timeoutMs: 30_000 });
  const probe = await connect({ servers: urls[0] });
  const serverVersion = probe.info?.version ?? '?';
  await probe.close();
  const rows = [await race(1), await race(3)];
  const data = {
    bench: 'nats-cas-race',
    startedAt,
    machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
    serverVersion,
    settings,
    rows,
  };
  saveResults(
    'nats-cas-race',
    data,
    [
      `# nats-cas-race — ${startedAt}`,
      '',
      `nats-server ${serverVersion}, 3 servers in one cluster, ${settings.BENCH_WRITERS} writers, ${settings.BENCH_DURATION_S} s per bucket. Load ${machine.loadAverage1m.toFixed(2)} at start.`,
      '',
      markdownTable(
        ['bucket replicas', 'successful updates', 'conflicts', 'final value', 'lost updates'],
        rows.map((r) => [r.replicas, r.successes, r.conflicts, r.final, r.lostUpdates]),
      ),
    ].join('\n'),
  );
} finally {
  clearTimeout(hardStop);
  await processes.stopAll();
  rmSync(dir, { recursive: true, force: true });
}
