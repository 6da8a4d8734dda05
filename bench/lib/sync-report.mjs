// The sync bench's targets and its markdown report.
import { markdownTable } from './results.mjs';
import { fmt, fmtSigned } from './stats.mjs';

export const SYNC_TARGETS = {
  addedP50MsAtC1Body64: 0.2,
  throughputRatioAtC16SmallBodies: 0.45,
};

export const bytesLabel = (n) =>
  n >= 1048576 && n % 1048576 === 0
    ? `${n / 1048576} MiB`
    : n >= 1024 && n % 1024 === 0
      ? `${n / 1024} KiB`
      : `${n} B`;

export function syncVerdicts(cases) {
  const find = (bytes, c) => cases.find((x) => x.bodyBytes === bytes && x.connections === c);
  const list = [];
  const c1 = find(64, 1);
  if (c1?.addedMs) {
    list.push({
      target: `added p50 ≤ ${SYNC_TARGETS.addedP50MsAtC1Body64} ms (c=1, 64 B)`,
      measured: `${fmtSigned(c1.addedMs.p50, 3)} ms`,
      pass: c1.addedMs.p50 <= SYNC_TARGETS.addedP50MsAtC1Body64,
    });
  }
  for (const bytes of [64, 4096]) {
    const c16 = find(bytes, 16);
    if (c16?.ratio !== undefined) {
      list.push({
        target: `throughput ratio ≥ ${SYNC_TARGETS.throughputRatioAtC16SmallBodies} (c=16, ${bytesLabel(bytes)})`,
        measured: fmt(c16.ratio),
        pass: c16.ratio >= SYNC_TARGETS.throughputRatioAtC16SmallBodies,
      });
    }
  }
  return list;
}

export function renderSyncMarkdown(data) {
  const rows = data.cases.map((x) => {
    const d = x.direct;
    const p = x.proxied;
    const errors = [d, p]
      .map((r) => (r ? Object.values(r.errors).reduce((a, b) => a + b, 0) : '—'))
      .join(' / ');
    return [
      `POST ${bytesLabel(x.bodyBytes)}`,
      x.connections,
      fmt(d.requestsPerSecond, 0),
      p ? fmt(p.requestsPerSecond, 0) : '—',
      fmt(x.ratio),
      `${fmt(d.latencyMs.p50, 3)} / ${fmt(d.latencyMs.p95, 3)} / ${fmt(d.latencyMs.p99, 3)}`,
      p ? `${fmt(p.latencyMs.p50, 3)} / ${fmt(p.latencyMs.p95, 3)} / ${fmt(p.latencyMs.p99, 3)}` : '—',
      x.addedMs ? `${fmtSigned(x.addedMs.p50, 3)} / ${fmtSigned(x.addedMs.p99, 3)}` : '—',
      `${fmt(d.cpuPercent.upstream, 0)} / ${p ? `${fmt(p.cpuPercent.upstream, 0)} / ${fmt(p.cpuPercent.slimfaas, 0)}` : '—'}`,
      p?.cpuMicrosPerRequest?.slimfaas ? fmt(p.cpuMicrosPerRequest.slimfaas.total, 1) : '—',
      errors,
    ];
  });
  const parts = [
    `# Sync proxy bench (${data.mode})`,
    '',
    `${data.startedAt} · node ${data.machine.node} · ${data.machine.cpuCount}× ${data.machine.cpuModel} · ` +
      `load ${fmt(data.machine.loadAverage1m)} → ${fmt(data.machine.loadAverage1mAtEnd)} · commit ${data.machine.commit ?? '?'} · ${data.machine.wrk} · ` +
      `warm-up ${data.settings.warmupSeconds} s, measured ${data.settings.durationSeconds} s per run`,
    '',
    'Each proxied run follows its own direct run against the same upstream process. Added = proxied − direct ' +
      '(negative = noise). CPU % of one core: direct run upstream / proxied run upstream / SlimFaas. ' +
      'SlimFaas CPU µs/req: its user + system CPU time during the proxied run divided by the requests.',
    '',
    markdownTable(
      [
        'workload',
        'c',
        'direct req/s',
        'proxied req/s',
        'ratio',
        'direct p50 / p95 / p99 (ms)',
        'proxied p50 / p95 / p99 (ms)',
        'added p50 / p99 (ms)',
        'CPU % up / up / proxy',
        'SlimFaas CPU µs/req',
        'errors d / p',
      ],
      rows,
    ),
  ];
  if (data.verdicts.length > 0) {
    parts.push(
      '',
      '## Targets',
      '',
      markdownTable(
        ['target', 'measured', 'met'],
        data.verdicts.map((v) => [v.target, v.measured, v.pass ? 'yes' : '**no**']),
      ),
    );
  }
  if (data.rss) {
    const rssRows = data.rss.runs.map((r) => [r.run, r.samples, fmt(r.minMiB, 1), fmt(r.maxMiB, 1)]);
    parts.push(
      '',
      `## SlimFaas RSS (VmRSS, every ${data.settings.rssIntervalMs} ms)`,
      '',
      `Once the function was ready: ${fmt(data.rss.afterStartMiB, 1)} MiB; before the first run (after the ` +
        `2 MiB checks): ${fmt(data.rss.beforeMiB, 1)} MiB; after the last run: ${fmt(data.rss.afterMiB, 1)} MiB. ` +
        'Buffering instead of streaming would show as growth with concurrency: 16 bodies of 2 MiB in flight ' +
        'are 32 MiB on top of the c=1 peak.',
      '',
      markdownTable(['run', 'samples', 'min MiB', 'max MiB'], rssRows),
    );
  }
  if (data.leakedPids)
    parts.push(
      '',
      `Processes left after SlimFaas stopped: ${data.leakedPids.length === 0 ? 'none' : data.leakedPids.join(', ')}.`,
    );
  return parts.join('\n');
}
