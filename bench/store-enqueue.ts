// Throughput probe for the embedded store (not a test): durable enqueues/s and commit latency with 1 KiB
// payloads at a fixed concurrency, for each database thread mode, plus the main event loop's delay meanwhile.
// Run: node --import tsx bench/store-enqueue.ts [--concurrency 16] [--seconds 5] [--thread worker|main|both]
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIGURATION } from '../src/core/function-spec.js';
import { EmbeddedStateStore } from '../src/stores/embedded/embedded-state-store.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '5' },
    thread: { type: 'string', default: 'both' },
  },
});
const concurrency = Number(values.concurrency);
const durationMs = Number(values.seconds) * 1000;
const threads =
  values.thread === 'both' ? (['worker', 'main'] as const) : [values.thread as 'worker' | 'main'];
const payload = new Uint8Array(1024).fill(7);
const policy = DEFAULT_CONFIGURATION.defaultAsync;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

async function run(thread: 'worker' | 'main'): Promise<void> {
  const store = await EmbeddedStateStore.open({ ephemeral: true, thread });
  const latencies: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const deadline = performance.now() + durationMs;
  const client = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      await store.enqueue('bench', { id: randomUUID(), payload, enqueuedAtMs: Date.now(), policy });
      latencies.push(performance.now() - start);
    }
  };
  await store.enqueue('warm-up', { id: randomUUID(), payload, enqueuedAtMs: Date.now(), policy });
  loop.enable();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsedMs = performance.now() - started;
  loop.disable();
  const counts = await store.counts('bench');
  await store.close();
  latencies.sort((a, b) => a - b);
  const perSecond = Math.round((latencies.length / elapsedMs) * 1000);
  const ms = (n: number) => n.toFixed(2);
  console.log(
    `${thread.padEnd(6)} c=${concurrency}: ${perSecond} enqueues/s (${counts.ready} stored), ` +
      `commit p50 ${ms(percentile(latencies, 0.5))} ms p99 ${ms(percentile(latencies, 0.99))} ms ` +
      `max ${ms(latencies.at(-1) ?? 0)} ms; event-loop delay p99 ${ms(loop.percentile(99) / 1e6)} ms ` +
      `max ${ms(loop.max / 1e6)} ms`,
  );
}

for (const thread of threads) await run(thread);
