// Status stream costs, in one process (no sockets): `npm run build && node bench/status-stream.mjs`.
// 1. ActivityFeed.record on the sync hot path: ns per call with no listener vs one listener (paired, same run).
// 2. A `state` frame for N functions (default 1,000): build + JSON.stringify time and size.
// Bounded: a fixed number of iterations (a few seconds). Results: bench/results/status-stream-<time>.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActivityFeed } from '../dist/core/activity-feed.js';
import { ActivityTracker } from '../dist/core/activity.js';
import { systemClock } from '../dist/core/clock.js';
import { DEFAULT_CONFIGURATION } from '../dist/core/function-spec.js';
import { StatusSnapshot } from '../dist/http/status-snapshot.js';
import { MemoryOrchestrator } from '../dist/orchestrators/memory/memory-orchestrator.js';

const FUNCTIONS = Number(process.env.BENCH_FUNCTIONS ?? '1000');
const CALLS = Number(process.env.BENCH_FEED_CALLS ?? '5000000');
const FRAMES = Number(process.env.BENCH_FRAMES ?? '50');

function nsPerCall(feed) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) feed.record('request_in', 'fibonacci');
  return Number(process.hrtime.bigint() - start) / CALLS;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const silent = new ActivityFeed({ clock: systemClock });
const listened = new ActivityFeed({ clock: systemClock });
let seen = 0;
listened.subscribe(() => seen++);
const pairs = [];
for (let round = 0; round < 5; round++) pairs.push({ none: nsPerCall(silent), one: nsPerCall(listened) });

const spec = (name) => ({
  name,
  replicasMin: 0,
  replicasAtStart: 1,
  timeoutSecondBeforeSetReplicasMin: 300,
  numberParallelRequest: 10,
  numberParallelRequestPerPod: 10,
  replicasStartAsSoonAsOneFunctionRetrieveARequest: false,
  dependsOn: [],
  schedule: undefined,
  subscribeEvents: [],
  defaultVisibility: 'Public',
  pathsStartWithVisibility: [],
  defaultTrust: 'Trusted',
  configuration: DEFAULT_CONFIGURATION,
});
const names = Array.from({ length: FUNCTIONS }, (_, i) => `fn-${i}`);
const orchestrator = new MemoryOrchestrator({ functions: names.map((n) => ({ spec: spec(n) })) });
await orchestrator.start();
const logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => logger,
  isLevelEnabled: () => false,
};
const snapshot = new StatusSnapshot({
  orchestrator,
  activity: new ActivityTracker(systemClock),
  clock: systemClock,
  logger,
  nodeId: 'bench',
  isReady: () => true,
});
const frameMs = [];
let bytes = 0;
for (let i = 0; i < FRAMES; i++) {
  const start = performance.now();
  const text = JSON.stringify(await snapshot.build(false));
  frameMs.push(performance.now() - start);
  bytes = Buffer.byteLength(text);
}
await orchestrator.close();

const result = {
  date: new Date().toISOString(),
  feedCalls: CALLS,
  feedNsPerCall: pairs,
  feedNoListenerMedianNs: median(pairs.map((p) => p.none)),
  feedOneListenerMedianNs: median(pairs.map((p) => p.one)),
  functions: FUNCTIONS,
  stateFrameMedianMs: median(frameMs),
  stateFrameMaxMs: Math.max(...frameMs),
  stateFrameBytes: bytes,
};
const table = `| measure | value |
| --- | --- |
| ActivityFeed.record, no listener (median of 5 × ${CALLS}) | ${result.feedNoListenerMedianNs.toFixed(1)} ns/call |
| ActivityFeed.record, one listener | ${result.feedOneListenerMedianNs.toFixed(1)} ns/call |
| state frame, ${FUNCTIONS} functions, build + stringify (median of ${FRAMES}) | ${result.stateFrameMedianMs.toFixed(2)} ms (max ${result.stateFrameMaxMs.toFixed(2)}) |
| state frame size, ${FUNCTIONS} functions | ${(bytes / 1024).toFixed(0)} KiB |
`;
console.log(table);
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const stamp = result.date.replace(/[:.]/g, '-').slice(0, 19) + 'Z';
writeFileSync(join(dir, `status-stream-${stamp}.json`), JSON.stringify(result, null, 2));
writeFileSync(join(dir, `status-stream-${stamp}.md`), table);
