// The async-crash bench's markdown report.
import { markdownTable } from './results.mjs';
import { fmt } from './stats.mjs';

const yes = (ok) => (ok ? 'yes' : '**no**');
const counts = (object) =>
  Object.keys(object ?? {}).length === 0
    ? '0'
    : Object.entries(object)
        .map(([key, n]) => `${n} × ${key}`)
        .join(', ');

/** Replicas and the watchdog by PID; other descendants (short-lived shells) as a count. */
function processesAfterKill(list) {
  const main = list.filter((p) => p.kind === 'replica' || p.kind === 'watchdog');
  const others = list.filter((p) => p.kind !== 'replica' && p.kind !== 'watchdog');
  const state = (p) => (p.alive ? '**alive**' : `gone after ${fmt(p.goneAfterMs, 0)} ms`);
  const parts = main.map((p) => `${p.kind} ${p.pid}: ${state(p)}`);
  if (others.length > 0) {
    const alive = others.filter((p) => p.alive).length;
    parts.push(`${others.length} other descendants: ${alive === 0 ? 'all gone' : `**${alive} alive**`}`);
  }
  return parts.join('; ');
}

export function renderAsyncCrashMarkdown(data) {
  const { burst, kill, store, restart, analysis, settings } = data;
  const a = analysis;
  const storeCounts = store.counts
    ? `${store.counts.ready} / ${store.counts.delayed} / ${store.counts.leased} / ${store.counts.dead}`
    : `unreadable (${store.error})`;
  const lines = [
    `# async crash bench (kill -9 during delivery, restart) — ${data.startedAt}`,
    '',
    `Node ${data.machine.node}, ${data.machine.cpuCount} × ${data.machine.cpuModel}, load ${fmt(data.machine.loadAverage1m)} → ` +
      `${fmt(data.machine.loadAverage1mAtEnd)} (1-min average at start → end), commit ${data.machine.commit ?? '?'}. ` +
      `${settings.BENCH_CRASH_MESSAGES} messages of ${settings.BENCH_CRASH_BODY_BYTES} B at c=${settings.BENCH_CRASH_CONNECTIONS}; ` +
      `NumberParallelRequest ${settings.BENCH_CRASH_PARALLEL}; the function answers ${settings.BENCH_CRASH_SINK_DELAY_MS} ms after ` +
      `receiving; kill at ${fmt(settings.BENCH_CRASH_KILL_AT * 100, 0)} % delivered, ` +
      `${settings.BENCH_CRASH_KILL_DURING_BURST === 1 ? 'during the burst' : 'after the burst'}; HttpTimeout ` +
      `${settings.BENCH_CRASH_HTTP_TIMEOUT_S > 0 ? `${settings.BENCH_CRASH_HTTP_TIMEOUT_S} s` : 'default (120 s)'}.`,
    '',
    '## Burst',
    '',
    markdownTable(
      [
        'sent',
        'accepted (202)',
        'non-202',
        'errors',
        'seconds',
        'accepted/s',
        '202 p50 / p95 / p99 / max (ms)',
        'delivered when the burst ended',
        'deliveries/s meanwhile',
      ],
      [
        [
          burst.sent,
          burst.accepted,
          counts(burst.non202),
          counts(burst.errors),
          fmt(burst.seconds, 2),
          fmt(burst.acceptedPerSecond, 0),
          `${fmt(burst.acceptLatencyMs.p50, 2)} / ${fmt(burst.acceptLatencyMs.p95, 2)} / ${fmt(burst.acceptLatencyMs.p99, 2)} / ${fmt(burst.acceptLatencyMs.max, 2)}`,
          burst.deliveredAtBurstEnd,
          fmt(burst.deliveriesPerSecondDuringBurst, 0),
        ],
      ],
    ),
    '',
    '## Kill -9',
    '',
    markdownTable(
      [
        'after burst start (ms)',
        'accepted at the kill',
        'ids delivered at the kill',
        'store at the kill: ready / retry / leased / dead',
        'processes after the kill',
      ],
      [
        [
          fmt(kill.msAfterBurstStart, 0),
          kill.acceptedSoFar,
          kill.uniqueDelivered,
          storeCounts,
          processesAfterKill(kill.processesAfterKill),
        ],
      ],
    ),
    '',
    '"leased" = in flight at the kill as the store saw it (leased by the killed process, outcome not recorded).',
    '',
    '## Restart',
    '',
    markdownTable(
      [
        'Entrypoint line (ms)',
        'function ready (ms)',
        'first delivery (ms)',
        'deliveries/s',
        'all but the leased received (s)',
        'every accepted id received (s)',
        'queue empty (s)',
        'final queue',
      ],
      [
        [
          fmt(restart.entrypointAfterMs, 0),
          fmt(restart.readyAfterMs, 0),
          fmt(a.firstDeliveryAfterRestartMs, 0),
          fmt(a.deliveriesPerSecondAfterRestart, 0),
          fmt(a.notLeasedReceivedAfterRestartS, 2),
          fmt(restart.allReceivedAfterS, 2),
          fmt(restart.queueEmptyAfterS, 2),
          restart.finalQueue ? JSON.stringify(restart.finalQueue).replaceAll('"', '') : '—',
        ],
      ],
    ),
    '',
    'All times from the restart (spawn of the second SlimFaas). Elements the killed process had leased are ' +
      'redelivered only when their lease expires (HttpTimeout + 10 s after they were leased): a leased element ' +
      'that had not reached the function before the kill is received only then. "All but the leased" is the ' +
      'drain without that wait; deliveries/s is over the deliveries after the restart, the leased ones excepted.',
    '',
    '## Deliveries',
    '',
    markdownTable(
      [
        'accepted',
        'delivered before the kill',
        'between kill and restart',
        'after the restart',
        'missing',
        'duplicate ids',
        'extra deliveries',
        'duplicates leased at the kill',
        'leased at the kill',
        'delivered, no 202 seen',
      ],
      [
        [
          burst.accepted,
          `${a.deliveriesByPhase.beforeKill} (${a.uniqueDeliveredBeforeKill} ids)`,
          a.deliveriesByPhase.betweenKillAndRestart,
          a.deliveriesByPhase.afterRestart,
          a.missing,
          a.duplicates,
          a.duplicateDeliveries,
          a.duplicatesLeasedAtKill,
          `${a.leasedAtKill} (${a.leasedAtKillAndReceivedBeforeRestart} already received)`,
          a.deliveredButNotAccepted,
        ],
      ],
    ),
    '',
    `Try numbers seen (SlimFaas-Try-Number): ${counts(a.tryNumbers)}.`,
  ];
  if (a.duplicateDetails.length > 0) {
    lines.push(
      '',
      '### Duplicates',
      '',
      markdownTable(
        ['id', 'tries', 'when', 'first delivery − kill (ms)', 'last delivery after restart (s)', 'leased'],
        a.duplicateDetails
          .slice(0, 20)
          .map((d) => [
            d.id,
            d.tries.join(', '),
            d.phases.join(', '),
            fmt(d.firstMsFromKill, 1),
            fmt(d.lastMsAfterRestart / 1000, 2),
            d.leasedAtKill ? 'yes' : 'no',
          ]),
      ),
    );
  }
  lines.push(
    '',
    '## Targets',
    '',
    markdownTable(
      ['requirement', 'measured', 'met'],
      [
        ['every accepted message delivered (missing = 0)', a.missing, yes(data.verdicts.noneMissing)],
        [
          `duplicates only for those in flight (≤ NumberParallelRequest ${settings.BENCH_CRASH_PARALLEL})`,
          `${a.duplicates} duplicate ids, ${a.duplicatesLeasedAtKill} of them leased at the kill; ${a.leasedAtKill} leased`,
          yes(data.verdicts.duplicatesWithinInFlight),
        ],
        [
          'replicas stopped after the kill (watchdog)',
          kill.survivors.length === 0 ? 'all gone' : kill.survivors.join(', '),
          yes(data.verdicts.replicasStoppedAfterKill),
        ],
        [
          'kill while deliveries were pending',
          `${kill.uniqueDelivered} of ${kill.acceptedSoFar} delivered`,
          yes(data.verdicts.killDuringDeliveries),
        ],
      ],
    ),
    '',
    `Processes left after the bench stopped SlimFaas: ${data.leakedPids.length === 0 ? 'none' : data.leakedPids.join(', ')}.`,
  );
  return lines.join('\n');
}
