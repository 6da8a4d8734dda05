// The cold-start bench's targets and its markdown report.
import { idleRssMarkdown } from './idle-rss.mjs';
import { markdownTable } from './results.mjs';
import { fmt } from './stats.mjs';

export const PHASES = [
  'beforeCommandStart',
  'functionStart',
  'listeningToReady',
  'readyToResponse',
  'requestToScaleDecision',
  'scaleDecisionToSpawned',
  'spawnedToCommandStart',
  'commandToNodeClock',
];
export const TARGET_OVERHEAD_MS = { p50: 30, p99: 100 };

export function renderColdStartMarkdown(data) {
  const parts = [`# Cold start bench`, ''];
  parts.push(
    `${data.startedAt} · node ${data.machine.node} · ${data.machine.cpuCount}× ${data.machine.cpuModel} · ` +
      `load ${fmt(data.machine.loadAverage1m)} → ${fmt(data.machine.loadAverage1mAtEnd)} · commit ${data.machine.commit ?? '?'} · ${data.runs.length} runs · ` +
      `health.periodSeconds ${data.settings.healthPeriodSeconds} · ` +
      `${data.settings.warmupRuns ?? 0} warm-up cold start(s) run first and discarded`,
    '',
  );
  if (data.runs.length > 0) {
    const row = (label, s) => [
      label,
      fmt(s.p50, 1),
      fmt(s.p99, 1),
      fmt(s.min, 1),
      fmt(s.max, 1),
      fmt(s.mean, 1),
    ];
    parts.push(
      markdownTable(
        ['ms', 'p50', 'p99', 'min', 'max', 'mean'],
        [
          row('total (GET at zero → response)', data.summary.totalMs),
          row("function's own start from its command (commandStartToReadyMs)", data.summary.functionStartMs),
          row('**SlimFaas overhead (total − own start from its command)**', data.summary.overheadMs),
          row("old: function's own start from Node's clock (startToReadyMs)", data.summary.nodeStartMs),
          row('old: overhead (total − startToReadyMs)', data.summary.overheadOldMs),
        ],
      ),
      '',
      `SlimFaas CPU (user + system, /proc ticks of 10 ms) from each request to its response, mean per cold start: ` +
        `${fmt(data.summary.slimfaasCpuMsPerColdStart, 1)} ms.`,
      '',
      markdownTable(
        ['target', 'measured', 'met'],
        data.verdicts.map((v) => [v.target, v.measured, v.pass ? 'yes' : '**no**']),
      ),
      '',
      'Where the time went (from SlimFaas log timestamps, 1 ms resolution; the first four phases add up to the ' +
        'total; requestToScaleDecision + scaleDecisionToSpawned + spawnedToCommandStart = beforeCommandStart; ' +
        "commandToNodeClock = bash + exec + Node's start before its clock, inside functionStart):",
      '',
      markdownTable(
        ['phase (ms)', 'p50', 'p99', 'min', 'max'],
        PHASES.filter((phase) => data.summary.phasesMs[phase].n > 0).map((phase) => {
          const s = data.summary.phasesMs[phase];
          return [phase, fmt(s.p50, 0), fmt(s.p99, 0), fmt(s.min, 0), fmt(s.max, 0)];
        }),
      ),
      '',
      ...(data.baseline.runs.length > 0
        ? [
            `Floor, without SlimFaas: this bench spawning the same command itself, ${data.baseline.runs.length} times ` +
              '(spawn → its listening line read from the pipe):',
            '',
            markdownTable(
              ['ms', 'p50', 'p99', 'min', 'max'],
              [
                ['spawn → listening line', data.baseline.spawnToListeningMs],
                ["function's own start from its command", data.baseline.functionStartMs],
                ['overhead (spawn → listening − own start)', data.baseline.overheadMs],
                ...(data.baseline.overheadOldMs
                  ? [['old definition: spawn → listening − startToReadyMs', data.baseline.overheadOldMs]]
                  : []),
                ...(data.baseline.firstAnswerOverheadMs
                  ? [
                      [
                        'floor with a first request (spawn → first answer − own start)',
                        data.baseline.firstAnswerOverheadMs,
                      ],
                    ]
                  : []),
                ...(data.baseline.firstAnswerOverheadOldMs
                  ? [
                      [
                        'old definition: spawn → first answer − startToReadyMs',
                        data.baseline.firstAnswerOverheadOldMs,
                      ],
                    ]
                  : []),
                ...(data.baseline.beforeCommandStartMs
                  ? [['spawn → command start (epoch ms)', data.baseline.beforeCommandStartMs]]
                  : []),
                ["spawn → Node's clock start (epoch ms)", data.baseline.beforeProcessStartMs],
              ].map(([label, s]) => [label, fmt(s.p50, 1), fmt(s.p99, 1), fmt(s.min, 1), fmt(s.max, 1)]),
            ),
            '',
          ]
        : []),
      `Every run hit a new process: ${data.runs.every((r) => r.newProcess) ? 'yes' : '**no**'}. ` +
        `Processes left after SlimFaas stopped: ${data.leakedPids.length === 0 ? 'none' : data.leakedPids.join(', ')}.`,
      '',
      '<details><summary>Per run (ms): total / own start from its command / overhead / old overhead</summary>',
      '',
      ...(data.warmups ?? []).map(
        (r) =>
          `- warm-up (discarded): ${fmt(r.totalMs, 1)} / ${fmt(r.functionStartMs, 1)} / ` +
          `${fmt(r.overheadMs, 1)} / ${fmt(r.overheadOldMs, 1)}`,
      ),
      data.runs
        .map(
          (r, i) =>
            `${i + 1}. ${fmt(r.totalMs, 1)} / ${fmt(r.functionStartMs, 1)} / ${fmt(r.overheadMs, 1)} / ` +
            `${fmt(r.overheadOldMs, 1)}`,
        )
        .join('\n'),
      '',
      '</details>',
    );
  }
  if (data.idle) parts.push('', '## Idle RSS', '', idleRssMarkdown(data.idle));
  return parts.join('\n');
}
