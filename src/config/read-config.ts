import { notApplicableWarnings } from './not-applicable-settings.js';
import { parseJobsConfiguration } from './jobs-configuration.js';
import {
  type Parsed,
  type Setting,
  LOG_LEVELS,
  REQUEST_LOG_LEVELS,
  oneOf,
  integer,
  integerBetween,
  boolean,
  host,
  optionalIpList,
  cidrList,
  subscribeEvents,
  urlTemplate,
  ports,
  port,
  optionalNamespace,
  optionalAbsolutePath,
  store,
  optionalHttpUrl,
} from './setting-parsers.js';
export {
  LOG_LEVELS,
  REQUEST_LOG_LEVELS,
  type LogLevel,
  type Setting,
  type StoreSetting,
} from './setting-parsers.js';

const setting = <T>(definition: Setting<T>): Setting<T> => definition;

/**
 * Every server setting: one row each. docs/configuration.md is checked against this table.
 * Adding a setting is adding a row; ServerConfig follows from it.
 */
export const SETTINGS = {
  logLevel: setting({
    env: 'SLIMFAAS_LOG_LEVEL',
    default: 'info',
    parse: oneOf(LOG_LEVELS),
    description: 'Log level of SlimFaas itself.',
  }),
  requestLogLevel: setting({
    env: 'SLIMFAAS_REQUEST_LOG_LEVEL',
    default: 'debug',
    parse: oneOf(REQUEST_LOG_LEVELS),
    description: 'Level of the one line logged per proxied request.',
  }),
  host: setting({
    env: 'SLIMFAAS_HOST',
    default: '127.0.0.1',
    parse: host,
    description: 'Address the entrypoint binds.',
  }),
  maxHeldRequestsPerFunction: setting({
    env: 'SLIMFAAS_MAX_HELD_REQUESTS_PER_FUNCTION',
    default: '1000',
    parse: integer(1),
    description: 'Sync requests held per function while it wakes; beyond this they are refused.',
  }),
  scaleIntervalMs: setting({
    env: 'SLIMFAAS_SCALE_INTERVAL_MS',
    aliases: ['Workers__ScaleReplicasDelayMilliseconds', 'SCALE_REPLICAS_WORKER_DELAY_MILLISECONDS'],
    default: '1000',
    parse: integer(50),
    description: 'Period of the scale loop, in milliseconds.',
  }),
  maxWaitForReplicaMs: setting({
    env: 'TIME_MAXIMUM_WAIT_FOR_AT_LEAST_ONE_POD_STARTED_FOR_SYNC_FUNCTION',
    default: '0',
    parse: integer(0),
    description:
      "Upper bound, in milliseconds, on a sync call's wait for a ready replica (old SlimFaas's global wait); 0 = only the function's `DefaultSync.HttpTimeout` bounds it (current SlimFaas).",
  }),
  asyncSafetyIntervalMs: setting({
    env: 'SLIMFAAS_ASYNC_SAFETY_INTERVAL_MS',
    aliases: ['Workers__QueuesDelayMilliseconds', 'SLIM_WORKER_DELAY_MILLISECONDS'],
    default: '1000',
    parse: integer(1),
    description:
      'Longest idle wait of the async dispatcher between wake signals (a fallback pass), in milliseconds.',
  }),
  maxRequestBodyBytes: setting({
    env: 'SLIMFAAS_MAX_REQUEST_BODY_BYTES',
    aliases: ['Kestrel__Limits__MaxRequestBodySize', 'SLIMFASS_MAX_REQUEST_BODY_SIZE'],
    default: '524288000',
    parse: integer(0),
    description: 'Largest sync request body, in bytes (SlimFaas default); 0 = unlimited.',
  }),
  asyncMaxBodyBytes: setting({
    env: 'SLIMFAAS_ASYNC_MAX_BODY_BYTES',
    default: '1048576',
    parse: integer(0),
    description: 'Largest async request body, in bytes (it is stored).',
  }),
  podScaledUpByDefaultWhenInfrastructureHasNeverCalled: setting({
    env: 'POD_SCALED_UP_BY_DEFAULT_WHEN_INFRASTRUCTURE_HAS_NEVER_CALLED',
    aliases: ['SlimFaas__PodScaledUpByDefaultWhenInfrastructureHasNeverCalled'],
    default: 'false',
    parse: boolean,
    description:
      'Treat a function never called as active now: it starts at ReplicasAtStart and never times out before its first call.',
  }),
  shutdownGraceMs: setting({
    env: 'SLIMFAAS_SHUTDOWN_GRACE_MS',
    default: '5000',
    parse: integer(0),
    description: 'How long shutdown waits for in-flight requests, in milliseconds.',
  }),
  echoFunctionLogs: setting({
    env: 'SLIMFAAS_ECHO_FUNCTION_LOGS',
    default: 'true',
    parse: boolean,
    description: "Also print replica output on SlimFaas's stdout.",
  }),
  subscribeEvents: setting({
    env: 'SLIMFAAS_SUBSCRIBE_EVENTS',
    default: '',
    parse: subscribeEvents,
    description:
      'External event subscribers, `event=>http://a;http://b,event2=>http://c`: each URL receives every publish of its event.',
  }),
  trustedProxies: setting({
    env: 'SLIMFAAS_TRUSTED_PROXIES',
    default: '',
    parse: cidrList,
    description:
      'Proxies (CIDRs) whose `X-Forwarded-For` is believed when classifying callers by IP (Kubernetes); empty = the header is never believed.',
  }),
  namespace: setting({
    env: 'NAMESPACE',
    aliases: ['SlimFaas__Namespace'],
    default: '',
    parse: optionalNamespace,
    description:
      "`slimfaas serve`: the namespace whose annotated Deployments and StatefulSets are functions; empty = the service account's namespace in-cluster, the kubeconfig context's namespace, else `default`.",
  }),
  baseFunctionUrl: setting({
    env: 'BASE_FUNCTION_URL',
    aliases: ['SlimFaas__BaseFunctionUrl'],
    default: 'http://{pod_ip}:{pod_port}',
    parse: urlTemplate,
    description: '`slimfaas serve`: where sync and async calls go, per pod.',
  }),
  baseFunctionPodUrl: setting({
    env: 'BASE_FUNCTION_POD_URL',
    aliases: ['SlimFaas__BaseFunctionPodUrl'],
    default: 'http://{pod_ip}:{pod_port}',
    parse: urlTemplate,
    description: '`slimfaas serve`: per-pod target of publish-event.',
  }),
  kubeconfig: setting({
    env: 'KUBECONFIG',
    default: '',
    parse: (raw: string): Parsed<string> => ({ ok: true, value: raw }),
    description: '`slimfaas serve`: a kubeconfig file to use instead of the in-cluster service account.',
  }),
  slimfaasPorts: setting({
    env: 'SLIMFAAS_PORTS',
    default: '5000',
    parse: ports,
    description: '`slimfaas serve`: the ports the entrypoint listens on.',
  }),
  podIps: setting({
    env: 'POD_IP',
    default: '',
    parse: optionalIpList,
    description:
      "`slimfaas serve`: this SlimFaas pod's IP (downward API `status.podIP`; a comma-separated list is accepted): calls from SlimFaas replicas count as internal.",
  }),
  store: setting({
    env: 'SLIMFAAS_STORE',
    default: 'embedded',
    parse: store,
    description:
      'Where async requests, dead letters and activity live: `embedded` (SQLite, one replica) or `nats://host:port` URLs separated by "," (NATS JetStream, shared by replicas).',
  }),
  natsReplicas: setting({
    env: 'SLIMFAAS_NATS_REPLICAS',
    default: '1',
    parse: integerBetween(1, 5),
    description:
      'NATS store: copies of every stream and KV bucket SlimFaas creates, `1` on one server, `3` on a 3-node JetStream cluster (existing ones keep theirs).',
  }),
  leaderLeaseMs: setting({
    env: 'SLIMFAAS_LEADER_LEASE_MS',
    default: '3000',
    parse: integer(300),
    description:
      "NATS store: the leader's lease, in milliseconds. The leader renews it every third, steps down two thirds after its last confirmed renewal, and another replica takes over once a full lease passed without renewal.",
  }),
  inClusterPathPrefix: setting({
    env: 'SLIMFAAS_IN_CLUSTER_PATH_PREFIX',
    default: '',
    parse: optionalAbsolutePath,
    description:
      '`slimfaas serve`, for tests and unusual mounts: a directory prepended to `/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}` when the in-cluster configuration is read.',
  }),
  stateDirectory: setting({
    env: 'SLIMFAAS_STATE_DIRECTORY',
    default: '',
    parse: optionalAbsolutePath,
    description:
      '`slimfaas serve`: where the embedded store lives (created if missing, reopened on restart); empty = a temp directory removed at exit.',
  }),
  otelExporterOtlpEndpoint: setting({
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    default: '',
    parse: optionalHttpUrl,
    description:
      'OpenTelemetry: the OTLP/HTTP collector base URL (spans go to `{url}/v1/traces`, JSON); empty = tracing off.',
  }),
  otelExporterOtlpTracesEndpoint: setting({
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    default: '',
    parse: optionalHttpUrl,
    description:
      'OpenTelemetry: the full OTLP/HTTP traces URL, used as is (wins over `OTEL_EXPORTER_OTLP_ENDPOINT`); empty = derived from it.',
  }),
  otelServiceName: setting({
    env: 'OTEL_SERVICE_NAME',
    default: 'slimfaas',
    parse: (raw: string): Parsed<string> =>
      raw !== '' && raw.length <= 255 ? { ok: true, value: raw } : { ok: false, expected: 'a name' },
    description: "OpenTelemetry: the `service.name` of SlimFaas's spans.",
  }),
  jobsConfiguration: setting({
    env: 'SLIMFAAS_JOBS_CONFIGURATION',
    default: '',
    parse: parseJobsConfiguration,
    description:
      '`slimfaas serve`: job configurations, SlimFaas\'s JSON `{"Configurations": {"<job>": {...}}, "Schedules": {...}}` (docs/jobs.md); empty = no jobs. An invalid job is logged and left out.',
  }),
  statusStreamMaxClients: setting({
    env: 'SLIMFAAS_STATUS_STREAM_MAX_CLIENTS',
    default: '100',
    parse: integer(1),
    description:
      'Concurrent `/status-functions-stream` clients (the dashboard holds one each); beyond → 429.',
  }),
  statusStreamIntervalMs: setting({
    env: 'SLIMFAAS_STATUS_STREAM_INTERVAL_MS',
    default: '2000',
    parse: integer(100),
    description: 'The status stream sends a `state` frame at least this often, in milliseconds.',
  }),
  statusStreamChangeDelayMs: setting({
    env: 'SLIMFAAS_STATUS_STREAM_CHANGE_DELAY_MS',
    default: '100',
    parse: integer(0),
    description:
      'After a change (replicas, queues, scale), the next `state` frame comes within this delay; changes in between are coalesced.',
  }),
  supervisorUrl: setting({
    env: 'SLIMFAAS_SUPERVISOR_URL',
    default: '',
    parse: optionalHttpUrl,
    description:
      'Local cluster mode, set by `slimfaas up` for each node: the loopback URL of the supervisor control API.',
  }),
  supervisorToken: setting({
    env: 'SLIMFAAS_SUPERVISOR_TOKEN',
    default: '',
    parse: (raw: string): Parsed<string> => ({ ok: true, value: raw }),
    description:
      'Local cluster mode, set by `slimfaas up` for each node: the token sent as `X-SlimFaas-Token` to the supervisor.',
  }),
  internalPort: setting({
    env: 'SLIMFAAS_INTERNAL_PORT',
    default: '0',
    parse: port,
    description:
      "Local cluster mode, set by `slimfaas up` for each node: the port of the node's internal (127.0.0.1, trusted callers) listener.",
  }),
} as const;

type SettingValue<S> = S extends Setting<infer T> ? T : never;

/** The server configuration, parsed and validated by readConfig. */
export type ServerConfig = { readonly [K in keyof typeof SETTINGS]: SettingValue<(typeof SETTINGS)[K]> };

export type ConfigResult =
  | { readonly ok: true; readonly config: ServerConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Reads every setting from `env` (pass `process.env`; nothing else reads it). Unset means the
 * default; an empty or invalid value is an error (no silent fallback). A setting may be written under
 * SlimFaas's other names (`aliases`). Every problem is listed, each naming its variable. SlimFaas
 * settings that have no effect here give a warning each, with the reason (NOT_APPLICABLE). The
 * config is frozen.
 */
export function readConfig(env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const errors: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const found = writtenValue(definition, env);
    if (found.kind === 'conflict') {
      errors.push(`${found.names.join(' and ')}: name the same setting with different values; keep one`);
      continue;
    }
    const name = found.kind === 'written' ? found.name : definition.env;
    const written = found.kind === 'written' ? found.value : undefined;
    const raw = (written ?? definition.default).trim();
    const parsed = definition.parse(raw);
    if (written !== undefined && raw === '') {
      errors.push(`${name}: is empty; unset it to use the default (${definition.default})`);
    } else if (!parsed.ok) {
      errors.push(`${name}: expected ${parsed.expected}, got ${JSON.stringify(written)}`);
    } else {
      config[key] = parsed.value;
    }
  }
  if (errors.length > 0) return Object.freeze({ ok: false, errors: Object.freeze(errors) });
  return Object.freeze({
    ok: true,
    config: Object.freeze(config as ServerConfig),
    warnings: Object.freeze(notApplicableWarnings(env)),
  });
}

type Written =
  | { readonly kind: 'unset' }
  | { readonly kind: 'written'; readonly name: string; readonly value: string }
  | { readonly kind: 'conflict'; readonly names: readonly string[] };

/** The value of a setting under its name or one of its aliases; several different values conflict. */
function writtenValue(
  definition: Setting<unknown>,
  env: Readonly<Record<string, string | undefined>>,
): Written {
  const set = [definition.env, ...(definition.aliases ?? [])].flatMap((name) => {
    const value = env[name];
    return value === undefined ? [] : [{ name, value }];
  });
  const first = set[0];
  if (first === undefined) return { kind: 'unset' };
  if (set.some((entry) => entry.value.trim() !== first.value.trim())) {
    return { kind: 'conflict', names: set.map((entry) => entry.name) };
  }
  return { kind: 'written', ...first };
}
