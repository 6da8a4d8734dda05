// Cross-replica wake (issue 6): `slimfaas up` with `cluster.nodes: 3` (3 SlimFaas nodes sharing a 3-server
// NATS JetStream cluster, SLIMFAAS_NATS_REPLICAS=3, functions run by the supervisor). One function at zero.
// Each run waits until it is back at zero, then times one GET /function/cold/hello sent straight to one node
// (not through the entrypoint's balancer): runs alternate between the LEADER (which scales) and a FOLLOWER
// (which must get the leader to start the function, through the shared activity KV). Added time of the
// cross-replica wake = follower p50 − leader p50 in the same run.
// Node ports and names come from the node processes' environment (SLIMFAAS_PORTS, HOSTNAME); the leader from
// node logs (`this node is now the leader`, from src/stores/nats/nats-leadership.ts).
// Settings (env): BENCH_RUNS [20] (per side), BENCH_KEEP_TMP [0].
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { descendantPids, isAlive } from './lib/processes.mjs';
import { loadAverage1m, machineInfo, markdownTable, saveResults } from './lib/results.mjs';
import { readNumberSettings, runBench } from './lib/run-bench.mjs';
import {
  functionStatus,
  readPortFile,
  requireCli,
  startSlimFaas,
  upstreamFunction,
  waitFor,
  writeManifest,
} from './lib/slimfaas.mjs';
import { fmt, summarize } from './lib/stats.mjs';

const FUNCTION = 'cold';
const TARGET_ADDED_P50_MS = 20;
const settings = readNumberSettings({ BENCH_RUNS: { fallback: 20, min: 1 } });

function environ(pid) {
  try {
    const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  } catch {
    return {};
  }
}

/** The SlimFaas node processes under the supervisor: `{ name, port, pid }`. */
function findNodes(supervisorPid) {
  const nodes = [];
  for (const pid of descendantPids(supervisorPid)) {
    const env = environ(pid);
    if (env.SLIMFAAS_SUPERVISOR_URL && env.SLIMFAAS_PORTS && env.HOSTNAME?.startsWith('slimfaas-')) {
      nodes.push({ name: env.HOSTNAME, port: Number(env.SLIMFAAS_PORTS), pid });
    }
  }
  return nodes.sort((a, b) => a.name.localeCompare(b.name));
}

/** The leader, from each node's log (state/logs/<name>.log): its last "now the leader" / "no longer" line. */
async function findLeader(nodes, logsDir) {
  return waitFor(
    'one node to log that it is the leader',
    () => {
      const leaders = nodes.filter((node) => {
        let text;
        try {
          text = readFileSync(join(logsDir, `${node.name}.log`), 'utf8');
        } catch {
          return false;
        }
        return text.lastIndexOf('this node is now the leader') > text.lastIndexOf('no longer the leader');
      });
      return leaders.length === 1 ? leaders[0] : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

async function oneRun({ node, pools, portFile, previousPid }) {
  const origin = `http://127.0.0.1:${node.port}`;
  await waitFor(
    `${FUNCTION} back at zero`,
    async () => {
      const status = await functionStatus(origin, FUNCTION);
      const zero = status?.NumberReady === 0 && status?.NumberRequested === 0;
      return zero && !(previousPid && isAlive(previousPid));
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  const started = performance.now();
  const { statusCode, headers, body } = await pools
    .get(node.name)
    .request({ method: 'GET', path: `/function/${FUNCTION}/hello` });
  await body.text();
  const totalMs = performance.now() - started;
  if (statusCode !== 200) throw new Error(`GET on ${node.name} answered ${statusCode}`);
  return {
    node: node.name,
    totalMs,
    coldStartHeader: headers['x-slimfaas-cold-start'],
    replicaPid: readPortFile(portFile)?.pid,
  };
}

function render(data) {
  const rows = ['leader', 'follower'].map((side) => {
    const s = data.summary[side];
    return [side, s.n, fmt(s.p50, 1), fmt(s.p95, 1), fmt(s.max, 1)];
  });
  return [
    `# cross-wake bench — ${data.startedAt}`,
    '',
    `cluster.nodes: 3 (3 SlimFaas nodes, 3 nats-servers, SLIMFAAS_NATS_REPLICAS=3). Leader ${data.leader}, follower ${data.follower}. ` +
      `Node ${data.machine.node}, ${data.machine.cpuCount} CPUs, load ${fmt(data.machine.loadAverage1m)} at start, ${fmt(data.machine.loadAverage1mAtEnd)} at end.`,
    '',
    'Cold start total (request sent straight to the node → response), ms:',
    '',
    markdownTable(['node', 'n', 'p50', 'p95', 'max'], rows),
    '',
    `Added time on a follower, p50: ${fmt(data.addedP50Ms, 1)} ms (target ≤ ${TARGET_ADDED_P50_MS} ms: ${data.met ? 'met' : '**not met**'}); ` +
      `median of paired differences (follower run − the leader run before it): ${fmt(data.pairedMedianMs, 1)} ms.`,
  ].join('\n');
}

await runBench(
  'cross-wake',
  { maxSeconds: settings.BENCH_RUNS * 2 * 30 + 180 },
  async ({ processes, tmpDir }) => {
    requireCli();
    const startedAt = new Date().toISOString();
    const machine = machineInfo();
    const portFile = join(tmpDir, `${FUNCTION}.port`);
    const stateDir = join(tmpDir, 'state');
    const logsDir = join(stateDir, 'logs');
    const manifestPath = join(tmpDir, 'slimfaas.yaml');
    writeManifest(manifestPath, {
      schemaVersion: 1,
      name: 'bench-cross-wake',
      cluster: { entrypointPort: 30921, nodes: 3 },
      processPorts: { from: 48300, to: 48399 },
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
        }),
      },
    });
    const slimfaas = await startSlimFaas(processes, {
      manifestPath,
      logFile: join(tmpDir, 'slimfaas.log'),
      timeoutMs: 90_000,
    });
    const nodes = await waitFor('3 node processes', () => {
      const found = findNodes(slimfaas.pid);
      return found.length === 3 ? found : undefined;
    });
    const leader = await findLeader(nodes, logsDir);
    const follower = nodes.find((n) => n.name !== leader.name);
    console.log(`nodes ${nodes.map((n) => `${n.name}:${n.port}`).join(', ')}; leader ${leader.name}`);
    const pools = new Map(
      nodes.map((n) => [n.name, new Pool(`http://127.0.0.1:${n.port}`, { connections: 1 })]),
    );
    const runs = [];
    let previousPid;
    for (let i = 0; i < settings.BENCH_RUNS * 2; i++) {
      const node = i % 2 === 0 ? leader : follower;
      const run = await oneRun({ node, pools, portFile, previousPid });
      previousPid = run.replicaPid;
      runs.push(run);
      console.log(`${i + 1}/${settings.BENCH_RUNS * 2} ${run.node} ${fmt(run.totalMs, 1)} ms`);
    }
    const stillLeader = await findLeader(nodes, logsDir);
    await Promise.all([...pools.values()].map((p) => p.close()));
    await processes.stop(slimfaas.pid);
    const leaderRuns = runs.filter((r) => r.node === leader.name).map((r) => r.totalMs);
    const followerRuns = runs.filter((r) => r.node === follower.name).map((r) => r.totalMs);
    const paired = followerRuns.map((f, i) => f - leaderRuns[i]);
    const summary = { leader: summarize(leaderRuns), follower: summarize(followerRuns) };
    const addedP50Ms = summary.follower.p50 - summary.leader.p50;
    const data = {
      bench: 'cross-wake',
      startedAt,
      machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
      settings,
      leader: leader.name,
      follower: follower.name,
      leaderUnchanged: stillLeader.name === leader.name,
      runs,
      summary,
      addedP50Ms,
      pairedMedianMs: summarize(paired).p50,
      met: addedP50Ms <= TARGET_ADDED_P50_MS,
      leakedPids: processes.leakedPids(),
    };
    saveResults('cross-wake', data, render(data));
  },
);
