// CPU cost of the request-id work added to every sync call (tracing off): reading or generating the id,
// making the upstream headers carry it, and the response-header list. Measured in-process on the built
// code (npm run build first), against the same header building without the id, interleaved in rounds so
// that machine load hits both sides alike. Settings (env): BENCH_ROUNDS [10], BENCH_ITERATIONS [200000].
import { upstreamRequestHeaders } from '../dist/http/hop-by-hop.js';
import { requestIdOf, withRequestId } from '../dist/http/request-id.js';
import { loadAverage1m, machineInfo, saveResults } from './lib/results.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? '10');
const iterations = Number(process.env.BENCH_ITERATIONS ?? '200000');

// A typical small request as Node parses it (rawHeaders and the headers object).
function request(withId) {
  const raw = [
    'Host',
    '127.0.0.1:5000',
    'User-Agent',
    'wrk',
    'Content-Type',
    'application/json',
    'Content-Length',
    '64',
  ];
  if (withId) raw.push('X-Request-Id', 'f47ac10b-58cc-4372-a567-0e02b2c3d479');
  const headers = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i].toLowerCase()] = raw[i + 1];
  return { raw, headers };
}
const info = { remoteAddress: '127.0.0.1', proto: 'http' };
let sink = 0;

const cases = {
  // What the sync route did before: build the upstream headers, constant response extras.
  before: (req) => {
    const h = upstreamRequestHeaders(req.raw, undefined, info);
    sink += h.length;
  },
  // Now: the id is read (or generated), the upstream headers carry it, the response gets it.
  after: (req) => {
    const id = requestIdOf(req.headers);
    const h = withRequestId(upstreamRequestHeaders(req.raw, undefined, info), id);
    const extra = ['x-request-id', id.id];
    sink += h.length + extra.length;
  },
};

function time(fn, req) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(req);
  return Number(process.hrtime.bigint() - start) / iterations;
}

const results = { given: { before: [], after: [] }, generated: { before: [], after: [] } };
const loadBefore = loadAverage1m();
for (const [kind, req] of [
  ['given', request(true)],
  ['generated', request(false)],
]) {
  for (const name of ['before', 'after']) time(cases[name], req); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? ['before', 'after'] : ['after', 'before']) {
      results[kind][name].push(time(cases[name], req));
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = Object.entries(results).map(([kind, r]) => {
  const before = median(r.before);
  const after = median(r.after);
  return { kind, beforeNs: before, afterNs: after, addedNs: after - before, ratio: after / before };
});
const machine = machineInfo();
const lines = [
  '# Request-id cost per sync call (tracing off)',
  `${new Date().toISOString()} · node ${machine.node} · ${machine.cpuCount}× ${machine.cpuModel} · commit ${machine.commit} · load ${loadBefore.toFixed(1)} → ${loadAverage1m().toFixed(1)} · ${rounds} rounds × ${iterations} calls, medians`,
  '',
  '| X-Request-Id | before ns/call | after ns/call | added ns/call | after/before |',
  '| --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.kind === 'given' ? 'given by the caller' : 'generated'} | ${r.beforeNs.toFixed(0)} | ${r.afterNs.toFixed(0)} | ${r.addedNs.toFixed(0)} | ${r.ratio.toFixed(2)} |`,
  ),
];
if (sink === 0) console.log('(sink)');
saveResults('request-id', { machine, rounds, iterations, rows }, lines.join('\n'));
