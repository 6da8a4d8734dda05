/**
 * SlimFaas settings (reference §3) that have no effect in this implementation, each with the reason.
 * Set in the environment, each gives one start-up warning instead of being ignored silently. A name
 * ending in `__` covers every key of that .NET configuration section. docs/compatibility.md lists them.
 */
export const NOT_APPLICABLE: readonly { readonly name: string; readonly reason: string }[] = [
  {
    name: 'Workers__ReplicasSynchronizationDelayMilliseconds',
    reason: 'Deployments, StatefulSets and Pods are watched (list + watch), not polled',
  },
  {
    name: 'REPLICAS_SYNCHRONISATION_WORKER_DELAY_MILLISECONDS',
    reason: 'Deployments, StatefulSets and Pods are watched (list + watch), not polled',
  },
  {
    name: 'Workers__HistorySynchronizationDelayMilliseconds',
    reason: 'activity is shared as it happens (in process, or through a NATS KV watch), not on a timer',
  },
  {
    name: 'HISTORY_SYNCHRONISATION_WORKER_DELAY_MILLISECONDS',
    reason: 'activity is shared as it happens (in process, or through a NATS KV watch), not on a timer',
  },
  {
    name: 'Workers__HealthDelayMilliseconds',
    reason: 'there is no Raft health watcher; /health and /ready answer directly',
  },
  {
    name: 'Workers__HealthDelayToExitSeconds',
    reason: 'there is no Raft health watcher (unused in SlimFaas too)',
  },
  { name: 'Workers__HealthDelayToStartHealthCheckSeconds', reason: 'there is no Raft health watcher' },
  { name: 'Workers__JobsDelayMilliseconds', reason: 'jobs are not implemented yet' },
  { name: 'Workers__JobsConfigurationDelayMilliseconds', reason: 'jobs are not implemented yet' },
  { name: 'SlimFaas__JobsConfiguration', reason: 'jobs are not implemented yet' },
  { name: 'SlimFaas__StatusStream__', reason: 'the SSE status stream is not implemented yet' },
  { name: 'SlimFaas__MetricsScraping__', reason: 'PromQL autoscaling (SlimFaas/Scale) is not implemented' },
  { name: 'SlimData__', reason: 'state is in the embedded SQLite store or NATS JetStream (SLIMFAAS_STORE)' },
  { name: 'RaftClientHandler__', reason: 'there is no Raft client; see SLIMFAAS_STORE' },
  { name: 'SLIMDATA_DIRECTORY', reason: 'use SLIMFAAS_STATE_DIRECTORY (embedded store) or SLIMFAAS_STORE' },
  { name: 'SLIMDATA_CONFIGURATION', reason: 'there is no Raft store; see SLIMFAAS_STORE' },
  {
    name: 'BASE_SLIMDATA_URL',
    reason: 'there is no SlimData port; replicas share state through SLIMFAAS_STORE',
  },
  {
    name: 'SlimFaas__BaseSlimDataUrl',
    reason: 'there is no SlimData port; replicas share state through SLIMFAAS_STORE',
  },
  {
    name: 'Kestrel__Limits__KeepAliveTimeout',
    reason: "ASP.NET's server limit; the Node HTTP server keeps its own keep-alive timeout",
  },
  {
    name: 'Kestrel__Limits__RequestHeadersTimeout',
    reason: "ASP.NET's server limit; the Node HTTP server keeps its own headers timeout",
  },
  { name: 'UseKubeConfig', reason: 'set KUBECONFIG to a kubeconfig file instead' },
];

/** One warning per variable of `env` that NOT_APPLICABLE lists, sorted by name. */
export function notApplicableWarnings(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env)
    .filter((name) => env[name] !== undefined)
    .sort()
    .flatMap((name) => {
      const rule = NOT_APPLICABLE.find((candidate) =>
        candidate.name.endsWith('__') ? name.startsWith(candidate.name) : name === candidate.name,
      );
      return rule === undefined ? [] : [`${name} is a SlimFaas setting with no effect here: ${rule.reason}`];
    });
}
