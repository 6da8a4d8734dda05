// SlimFaas's idle memory: `node dist/cli.js up -f examples/slimfaas.yaml --port 0`, wait, read VmRSS.
// Settings (env): BENCH_IDLE_WAIT_S [3]. Target: ≤ 70 MiB.
import { idleRssMarkdown, measureIdleRss } from './lib/idle-rss.mjs';
import { loadAverage1m, machineInfo, saveResults } from './lib/results.mjs';
import { readNumberSettings, runBench } from './lib/run-bench.mjs';
import { requireCli } from './lib/slimfaas.mjs';

const settings = readNumberSettings({ BENCH_IDLE_WAIT_S: { fallback: 3 } });

await runBench('idle-rss', { maxSeconds: settings.BENCH_IDLE_WAIT_S + 90 }, async ({ processes, tmpDir }) => {
  requireCli();
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const idle = await measureIdleRss(processes, { tmpDir, waitSeconds: settings.BENCH_IDLE_WAIT_S });
  const data = {
    bench: 'idle-rss',
    startedAt,
    machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
    idle,
  };
  saveResults(
    'idle-rss',
    data,
    `# Idle RSS\n\n${startedAt} · node ${data.machine.node}\n\n${idleRssMarkdown(idle)}`,
  );
});
