import { parseCidr, type Cidr } from '../../../src/core/caller.js';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { JobsConfiguration } from '../../../src/config/jobs-configuration.js';
import {
  readConfig,
  SETTINGS,
  type LogLevel,
  type ServerConfig,
  type StoreSetting,
} from '../../../src/config/read-config.js';

function expectConfig(env: Record<string, string | undefined>) {
  const result = readConfig(env);
  if (!result.ok) throw new Error(`expected a valid configuration, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function expectErrors(env: Record<string, string | undefined>): readonly string[] {
  const result = readConfig(env);
  if (result.ok) throw new Error('expected configuration errors');
  return result.errors;
}

describe('readConfig', () => {
  it('applies every default when nothing is set', () => {
    expect(expectConfig({})).toEqual({
      logLevel: 'info',
      requestLogLevel: 'debug',
      host: '127.0.0.1',
      maxHeldRequestsPerFunction: 1000,
      scaleIntervalMs: 1000,
      maxWaitForReplicaMs: 0,
      asyncSafetyIntervalMs: 1000,
      maxRequestBodyBytes: 524288000,
      asyncMaxBodyBytes: 1048576,
      podScaledUpByDefaultWhenInfrastructureHasNeverCalled: false,
      shutdownGraceMs: 5000,
      echoFunctionLogs: true,
      subscribeEvents: new Map(),
      trustedProxies: [],
      podIps: [],
      namespace: '',
      baseFunctionUrl: 'http://{pod_ip}:{pod_port}',
      baseFunctionPodUrl: 'http://{pod_ip}:{pod_port}',
      kubeconfig: '',
      slimfaasPorts: [5000],
      store: { kind: 'embedded' },
      natsReplicas: 1,
      leaderLeaseMs: 3000,
      inClusterPathPrefix: '',
      stateDirectory: '',
      otelExporterOtlpEndpoint: '',
      otelExporterOtlpTracesEndpoint: '',
      otelServiceName: 'slimfaas',
      jobsConfiguration: { configurations: [], problems: [] },
      statusStreamMaxClients: 100,
      statusStreamIntervalMs: 2000,
      statusStreamChangeDelayMs: 100,
      supervisorUrl: '',
      supervisorToken: '',
      internalPort: 0,
    });
  });

  it('reads every setting from its variable', () => {
    const config = expectConfig({
      SLIMFAAS_LOG_LEVEL: 'warn',
      SLIMFAAS_REQUEST_LOG_LEVEL: 'info',
      SLIMFAAS_HOST: '0.0.0.0',
      SLIMFAAS_MAX_HELD_REQUESTS_PER_FUNCTION: '5',
      SLIMFAAS_SCALE_INTERVAL_MS: '50',
      TIME_MAXIMUM_WAIT_FOR_AT_LEAST_ONE_POD_STARTED_FOR_SYNC_FUNCTION: '30000',
      SLIMFAAS_ASYNC_SAFETY_INTERVAL_MS: '10',
      SLIMFAAS_MAX_REQUEST_BODY_BYTES: '0',
      SLIMFAAS_ASYNC_MAX_BODY_BYTES: '2048',
      POD_SCALED_UP_BY_DEFAULT_WHEN_INFRASTRUCTURE_HAS_NEVER_CALLED: 'TRUE',
      SLIMFAAS_SHUTDOWN_GRACE_MS: '0',
      SLIMFAAS_ECHO_FUNCTION_LOGS: 'False',
      SLIMFAAS_SUBSCRIBE_EVENTS: 'evt=>http://a',
      SLIMFAAS_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.7',
      POD_IP: '10.1.2.3',
      NAMESPACE: 'functions',
      BASE_FUNCTION_URL: 'http://{function_name}.{namespace}.svc:8080',
      BASE_FUNCTION_POD_URL: 'http://{pod_ip}:{pod_port_1}',
      KUBECONFIG: '/home/me/.kube/config',
      SLIMFAAS_PORTS: '5000,5001',
      SLIMFAAS_STORE: 'nats://127.0.0.1:4222',
      SLIMFAAS_NATS_REPLICAS: '3',
      SLIMFAAS_LEADER_LEASE_MS: '1500',
      SLIMFAAS_IN_CLUSTER_PATH_PREFIX: '/tmp/sa-root',
      SLIMFAAS_STATE_DIRECTORY: '/var/lib/slimfaas',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector:4318/custom/traces',
      OTEL_SERVICE_NAME: 'edge-slimfaas',
      SLIMFAAS_JOBS_CONFIGURATION: '{"Configurations":{"Batch":{"Image":"busybox","Visibility":"Public"}}}',
      SLIMFAAS_STATUS_STREAM_MAX_CLIENTS: '3',
      SLIMFAAS_STATUS_STREAM_INTERVAL_MS: '500',
      SLIMFAAS_STATUS_STREAM_CHANGE_DELAY_MS: '0',
      SLIMFAAS_SUPERVISOR_URL: 'http://127.0.0.1:4000',
      SLIMFAAS_SUPERVISOR_TOKEN: 'secret',
      SLIMFAAS_INTERNAL_PORT: '4001',
    });
    expect(config).toEqual({
      logLevel: 'warn',
      requestLogLevel: 'info',
      host: '0.0.0.0',
      maxHeldRequestsPerFunction: 5,
      scaleIntervalMs: 50,
      maxWaitForReplicaMs: 30000,
      asyncSafetyIntervalMs: 10,
      maxRequestBodyBytes: 0,
      asyncMaxBodyBytes: 2048,
      podScaledUpByDefaultWhenInfrastructureHasNeverCalled: true,
      shutdownGraceMs: 0,
      echoFunctionLogs: false,
      subscribeEvents: new Map([['evt', ['http://a']]]),
      trustedProxies: [parseCidr('10.0.0.0/8'), parseCidr('192.168.1.7')],
      podIps: ['10.1.2.3'],
      namespace: 'functions',
      baseFunctionUrl: 'http://{function_name}.{namespace}.svc:8080',
      baseFunctionPodUrl: 'http://{pod_ip}:{pod_port_1}',
      kubeconfig: '/home/me/.kube/config',
      slimfaasPorts: [5000, 5001],
      store: { kind: 'nats', servers: ['nats://127.0.0.1:4222'] },
      natsReplicas: 3,
      leaderLeaseMs: 1500,
      inClusterPathPrefix: '/tmp/sa-root',
      stateDirectory: '/var/lib/slimfaas',
      otelExporterOtlpEndpoint: 'http://collector:4318',
      otelExporterOtlpTracesEndpoint: 'https://collector:4318/custom/traces',
      otelServiceName: 'edge-slimfaas',
      jobsConfiguration: {
        configurations: [
          {
            name: 'batch',
            image: 'busybox',
            imagesWhitelist: [],
            resources: { requests: {}, limits: {} },
            dependsOn: [],
            environments: [],
            backoffLimit: 1,
            visibility: 'Public',
            numberParallelJob: 1,
            ttlSecondsAfterFinished: 60,
            restartPolicy: 'Never',
            schedules: [],
          },
        ],
        problems: [],
      },
      statusStreamMaxClients: 3,
      statusStreamIntervalMs: 500,
      statusStreamChangeDelayMs: 0,
      supervisorUrl: 'http://127.0.0.1:4000',
      supervisorToken: 'secret',
      internalPort: 4001,
    });
  });

  it('refuses a NATS replica count outside 1–5 and a leader lease under 300 ms, by name', () => {
    expect(expectErrors({ SLIMFAAS_NATS_REPLICAS: '6', SLIMFAAS_LEADER_LEASE_MS: '299' })).toEqual([
      'SLIMFAAS_NATS_REPLICAS: expected an integer from 1 to 5, got "6"',
      'SLIMFAAS_LEADER_LEASE_MS: expected an integer ≥ 300, got "299"',
    ]);
    expect(expectErrors({ SLIMFAAS_NATS_REPLICAS: '0' })).toEqual([
      'SLIMFAAS_NATS_REPLICAS: expected an integer from 1 to 5, got "0"',
    ]);
  });

  it('reads SLIMFAAS_STORE: embedded or NATS URLs, refusing anything else by name', () => {
    expect(expectConfig({ SLIMFAAS_STORE: 'Embedded' }).store).toEqual({ kind: 'embedded' });
    expect(expectConfig({ SLIMFAAS_STORE: 'nats://a:4222, nats://b.example:4223' }).store).toEqual({
      kind: 'nats',
      servers: ['nats://a:4222', 'nats://b.example:4223'],
    });
    for (const bad of [
      'sqlite',
      'nats://a',
      'http://a:4222',
      'nats://a:4222/x',
      'nats://u:p@a:4222',
      'nats://a:4222,',
    ]) {
      expect(expectErrors({ SLIMFAAS_STORE: bad }), bad).toEqual([
        `SLIMFAAS_STORE: expected embedded or nats://host:port URLs separated by ",", got ${JSON.stringify(bad)}`,
      ]);
    }
  });

  it("reads SlimFaas's other names for a setting (.NET Section__Key form and the old names), same units", () => {
    const config = expectConfig({
      Workers__ScaleReplicasDelayMilliseconds: '250',
      Workers__QueuesDelayMilliseconds: '10',
      Kestrel__Limits__MaxRequestBodySize: '1024',
      SlimFaas__PodScaledUpByDefaultWhenInfrastructureHasNeverCalled: 'true',
      SlimFaas__Namespace: 'functions',
      SlimFaas__BaseFunctionUrl: 'http://{function_name}.{namespace}:8080',
      SlimFaas__BaseFunctionPodUrl: 'http://{pod_ip}:{pod_port_2}',
    });
    expect(config).toMatchObject({
      scaleIntervalMs: 250,
      asyncSafetyIntervalMs: 10,
      maxRequestBodyBytes: 1024,
      podScaledUpByDefaultWhenInfrastructureHasNeverCalled: true,
      namespace: 'functions',
      baseFunctionUrl: 'http://{function_name}.{namespace}:8080',
      baseFunctionPodUrl: 'http://{pod_ip}:{pod_port_2}',
    });
    const old = expectConfig({
      SCALE_REPLICAS_WORKER_DELAY_MILLISECONDS: '2000',
      SLIM_WORKER_DELAY_MILLISECONDS: '50',
      SLIMFASS_MAX_REQUEST_BODY_SIZE: '2048',
    });
    expect(old).toMatchObject({
      scaleIntervalMs: 2000,
      asyncSafetyIntervalMs: 50,
      maxRequestBodyBytes: 2048,
    });
  });

  it('accepts a setting written under two names with the same value, and refuses two different values', () => {
    expect(
      expectConfig({ SLIMFAAS_SCALE_INTERVAL_MS: '300', Workers__ScaleReplicasDelayMilliseconds: ' 300' })
        .scaleIntervalMs,
    ).toBe(300);
    expect(
      expectErrors({ NAMESPACE: 'a', SlimFaas__Namespace: 'b', SLIM_WORKER_DELAY_MILLISECONDS: 'x' }),
    ).toEqual([
      'SLIM_WORKER_DELAY_MILLISECONDS: expected an integer ≥ 1, got "x"',
      'NAMESPACE and SlimFaas__Namespace: name the same setting with different values; keep one',
    ]);
  });

  it('warns, with the reason, about each SlimFaas setting that has no effect here', () => {
    const result = readConfig({
      REPLICAS_SYNCHRONISATION_WORKER_DELAY_MILLISECONDS: '1000',
      Workers__HistorySynchronizationDelayMilliseconds: '500',
      SlimFaas__StatusStream__MaxSseClients: '3',
      PATH: '/bin',
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.warnings).toEqual([
      'REPLICAS_SYNCHRONISATION_WORKER_DELAY_MILLISECONDS is a SlimFaas setting with no effect here: Deployments, StatefulSets and Pods are watched (list + watch), not polled',
      'SlimFaas__StatusStream__MaxSseClients is a SlimFaas setting with no effect here: the SSE status stream is not implemented yet',
      'Workers__HistorySynchronizationDelayMilliseconds is a SlimFaas setting with no effect here: activity is shared as it happens (in process, or through a NATS KV watch), not on a timer',
    ]);
    const none = readConfig({});
    expect(none.ok && none.warnings).toEqual([]);
  });

  it('accepts host names and IPv6 addresses as the bind host', () => {
    expect(expectConfig({ SLIMFAAS_HOST: 'localhost' }).host).toBe('localhost');
    expect(expectConfig({ SLIMFAAS_HOST: '::1' }).host).toBe('::1');
  });

  it('lists every invalid value at once, naming its variable', () => {
    expect(
      expectErrors({
        SLIMFAAS_LOG_LEVEL: 'verbose',
        SLIMFAAS_REQUEST_LOG_LEVEL: 'warn',
        SLIMFAAS_HOST: 'not a host',
        SLIMFAAS_MAX_HELD_REQUESTS_PER_FUNCTION: '0',
        SLIMFAAS_SCALE_INTERVAL_MS: '10',
        SLIMFAAS_MAX_REQUEST_BODY_BYTES: '-1',
        SLIMFAAS_ASYNC_MAX_BODY_BYTES: '1e6',
        POD_SCALED_UP_BY_DEFAULT_WHEN_INFRASTRUCTURE_HAS_NEVER_CALLED: 'yes',
        SLIMFAAS_SHUTDOWN_GRACE_MS: '5s',
        SLIMFAAS_ECHO_FUNCTION_LOGS: '1',
      }),
    ).toEqual([
      'SLIMFAAS_LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"',
      'SLIMFAAS_REQUEST_LOG_LEVEL: expected one of info, debug, off, got "warn"',
      'SLIMFAAS_HOST: expected an IP address or a host name, got "not a host"',
      'SLIMFAAS_MAX_HELD_REQUESTS_PER_FUNCTION: expected an integer ≥ 1, got "0"',
      'SLIMFAAS_SCALE_INTERVAL_MS: expected an integer ≥ 50, got "10"',
      'SLIMFAAS_MAX_REQUEST_BODY_BYTES: expected an integer ≥ 0, got "-1"',
      'SLIMFAAS_ASYNC_MAX_BODY_BYTES: expected an integer ≥ 0, got "1e6"',
      'POD_SCALED_UP_BY_DEFAULT_WHEN_INFRASTRUCTURE_HAS_NEVER_CALLED: expected true or false, got "yes"',
      'SLIMFAAS_SHUTDOWN_GRACE_MS: expected an integer ≥ 0, got "5s"',
      'SLIMFAAS_ECHO_FUNCTION_LOGS: expected true or false, got "1"',
    ]);
  });

  it('rejects a trusted-proxy list with an entry that is not a CIDR, naming the variable', () => {
    const errors = expectErrors({ SLIMFAAS_TRUSTED_PROXIES: '10.0.0.0/8,not-an-ip' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('SLIMFAAS_TRUSTED_PROXIES');
  });

  it('rejects a relative state directory, naming the variable', () => {
    expect(expectErrors({ SLIMFAAS_STATE_DIRECTORY: 'state' })).toEqual([
      'SLIMFAAS_STATE_DIRECTORY: expected an absolute directory path, got "state"',
    ]);
  });

  it('rejects an OTLP endpoint that is not an http(s) URL, naming the variable', () => {
    expect(expectErrors({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL, got "collector:4318"',
    ]);
    expect(expectConfig({ SLIMFAAS_REQUEST_LOG_LEVEL: 'OFF' }).requestLogLevel).toBe('off');
  });

  it('rejects an empty value instead of silently using the default', () => {
    expect(expectErrors({ SLIMFAAS_SCALE_INTERVAL_MS: '' })).toEqual([
      'SLIMFAAS_SCALE_INTERVAL_MS: is empty; unset it to use the default (1000)',
    ]);
  });

  it('ignores variables it does not own', () => {
    expect(expectConfig({ PATH: '/bin', SLIMFAAS_OTHER: 'x' }).logLevel).toBe('info');
  });

  it('returns a frozen configuration', () => {
    const result = readConfig({});
    expect(Object.isFrozen(result)).toBe(true);
    expect(result.ok && Object.isFrozen(result.config)).toBe(true);
  });

  it('has a valid default, a unique variable and a description for every setting', () => {
    const rows = Object.values(SETTINGS);
    const names = rows.flatMap((row) => [row.env, ...(row.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    for (const row of rows) {
      expect(row.parse(row.default).ok, row.env).toBe(true);
      expect(row.description, row.env).not.toBe('');
    }
  });

  it('derives precise value types from the table', () => {
    expectTypeOf<ServerConfig>().toEqualTypeOf<{
      readonly logLevel: LogLevel;
      readonly requestLogLevel: 'info' | 'debug' | 'off';
      readonly host: string;
      readonly maxHeldRequestsPerFunction: number;
      readonly scaleIntervalMs: number;
      readonly maxWaitForReplicaMs: number;
      readonly asyncSafetyIntervalMs: number;
      readonly maxRequestBodyBytes: number;
      readonly asyncMaxBodyBytes: number;
      readonly podScaledUpByDefaultWhenInfrastructureHasNeverCalled: boolean;
      readonly shutdownGraceMs: number;
      readonly echoFunctionLogs: boolean;
      readonly subscribeEvents: ReadonlyMap<string, readonly string[]>;
      readonly trustedProxies: readonly Cidr[];
      readonly podIps: readonly string[];
      readonly namespace: string;
      readonly baseFunctionUrl: string;
      readonly baseFunctionPodUrl: string;
      readonly kubeconfig: string;
      readonly slimfaasPorts: readonly number[];
      readonly store: StoreSetting;
      readonly natsReplicas: number;
      readonly leaderLeaseMs: number;
      readonly inClusterPathPrefix: string;
      readonly stateDirectory: string;
      readonly otelExporterOtlpEndpoint: string;
      readonly otelExporterOtlpTracesEndpoint: string;
      readonly otelServiceName: string;
      readonly jobsConfiguration: JobsConfiguration;
      readonly statusStreamMaxClients: number;
      readonly statusStreamIntervalMs: number;
      readonly statusStreamChangeDelayMs: number;
      readonly supervisorUrl: string;
      readonly supervisorToken: string;
      readonly internalPort: number;
    }>();
  });
});
