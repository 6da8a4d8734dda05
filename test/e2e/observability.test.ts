import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type Delivery } from '../helpers/delivery-collector.js';
import {
  FN_SERVER,
  REPO_ROOT,
  startSlimFaas,
  status,
  type SlimFaasProcess,
} from '../helpers/slimfaas-process.js';
import { waitUntil } from '../helpers/wait-until.js';

/**
 * Request ids, request log lines, scale-decision logs and OpenTelemetry spans, seen from outside a real
 * `slimfaas up`: real function processes, its stdout, and a real HTTP server acting as OTLP/HTTP collector.
 * Port range 47100–47199 is this file's.
 */

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
  status?: { code?: number };
  serviceName: string;
}

/** OTLP span kinds (opentelemetry-proto trace.proto). */
const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

/** A minimal OTLP/HTTP JSON collector: keeps every span posted to /v1/traces. */
async function startOtlpCollector(): Promise<{
  url: string;
  spans: OtlpSpan[];
  server: Server;
  paths: string[];
}> {
  const spans: OtlpSpan[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: {
          resource: { attributes: OtlpAttribute[] };
          scopeSpans: { spans: Omit<OtlpSpan, 'serviceName'>[] }[];
        }[];
      };
      for (const rs of body.resourceSpans) {
        const serviceName =
          rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ ...span, serviceName });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server, paths };
}

function attr(span: OtlpSpan, key: string): string | number | boolean | undefined {
  const value = span.attributes.find((a) => a.key === key)?.value;
  if (value === undefined) return undefined;
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.boolValue;
}

function manifest(collectorUrl: string): string {
  const fn = (name: string, annotations: Record<string, string>) => `
  ${name}:
    command: [node, ${FN_SERVER}]
    environment: ${JSON.stringify({ TEST_FUNCTION: name, EVENT_COLLECTOR_URL: collectorUrl })}
    annotations: ${JSON.stringify(annotations)}
    health: { path: /health }`;
  return `
schemaVersion: 1
name: e2e-observability
processPorts: { from: 47100, to: 47199 }
state: { mode: ephemeral }
functions:${[
    fn('obs-warm', { 'SlimFaas/ReplicasMin': '1', 'SlimFaas/SubscribeEvents': 'obs-event' }),
    fn('obs-cold', { 'SlimFaas/ReplicasMin': '0' }),
  ].join('')}
`;
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function logLines(slimfaas: SlimFaasProcess): LogLine[] {
  return slimfaas
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

const GENERATED_ID = /^[0-9a-f]{32}$/;
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN_ID = 'b7ad6b7169203331';

describe('observability (slimfaas up)', () => {
  let slimfaas: SlimFaasProcess;
  let otlp: Awaited<ReturnType<typeof startOtlpCollector>>;
  let deliveries: { url: string; deliveries: Delivery[]; server: Server };

  beforeAll(async () => {
    otlp = await startOtlpCollector();
    deliveries = await startCollector();
    slimfaas = await startSlimFaas(manifest(deliveries.url), {
      env: {
        SLIMFAAS_LOG_LEVEL: 'info',
        SLIMFAAS_REQUEST_LOG_LEVEL: 'info',
        SLIMFAAS_ECHO_FUNCTION_LOGS: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_SERVICE_NAME: 'slimfaas-e2e',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    await waitUntil(async () => (await status(slimfaas.url, 'obs-warm')).NumberReady === 1, {
      timeoutMs: 20_000,
      message: 'obs-warm ready',
    });
  });

  afterAll(async () => {
    await slimfaas?.stop();
    otlp?.server.close();
    deliveries?.server.close();
  });

  it("passes the caller's X-Request-Id to the function and returns it once", async () => {
    const res = await fetch(`${slimfaas.url}/function/obs-warm/echo/given`, {
      headers: { 'x-request-id': 'caller-id-42' },
    });
    const body = (await res.json()) as { headers: Record<string, string> };
    expect(res.status).toBe(200);
    expect(body.headers['x-request-id']).toBe('caller-id-42');
    expect(res.headers.get('x-request-id')).toBe('caller-id-42');
  });

  it('generates an id when none is given (or the given one is invalid), sends it and returns it', async () => {
    const cases: Record<string, string>[] = [
      {},
      { 'x-request-id': 'has space' },
      { 'x-request-id': 'x'.repeat(200) },
    ];
    for (const headers of cases) {
      const res = await fetch(`${slimfaas.url}/function/obs-warm/echo/generated`, { headers });
      const body = (await res.json()) as { headers: Record<string, string> };
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(GENERATED_ID);
      expect(body.headers['x-request-id']).toBe(id);
    }
  });

  it('logs exactly one JSON line per proxied request with its fields', async () => {
    const res = await fetch(`${slimfaas.url}/function/obs-warm/echo/logged?secret=1`, {
      method: 'POST',
      headers: { 'x-request-id': 'log-line-id' },
      body: 'x',
    });
    await res.arrayBuffer();
    const lines = await waitUntil(
      () => {
        const found = logLines(slimfaas).filter((l) => l.requestId === 'log-line-id');
        return found.length > 0 ? found : undefined;
      },
      { message: 'the request log line' },
    );
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      level: 30,
      msg: 'sync call',
      requestId: 'log-line-id',
      method: 'POST',
      function: 'obs-warm',
      path: '/echo/logged',
      status: 200,
      replica: 'obs-warm-0',
      coldStart: false,
      outcome: 'completed',
    });
    expect(typeof line?.durationMs).toBe('number');
    expect(line?.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('carries the caller trace into the function and exports a server span with cold-start and upstream children; logs the wake and its reason', async () => {
    const res = await fetch(`${slimfaas.url}/function/obs-cold/echo/traced`, {
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01`, tracestate: 'vendor=1' },
    });
    const body = (await res.json()) as { headers: Record<string, string> };
    expect(res.status).toBe(200);
    expect(res.headers.get('x-slimfaas-cold-start')).toBe('true');
    // No X-Request-Id: the trace id stands for the request.
    expect(res.headers.get('x-request-id')).toBe(TRACE_ID);
    expect(body.headers['x-request-id']).toBe(TRACE_ID);
    const sent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(body.headers.traceparent ?? '');
    expect(sent?.[1]).toBe(TRACE_ID);
    expect(sent?.[2]).not.toBe(CALLER_SPAN_ID);
    expect(body.headers.tracestate).toBe('vendor=1');

    const trace = await waitUntil(
      () => {
        const spans = otlp.spans.filter((s) => s.traceId === TRACE_ID);
        return spans.length >= 3 ? spans : undefined;
      },
      { timeoutMs: 15_000, message: 'three spans of the trace at the collector' },
    );
    expect(otlp.paths.every((p) => p.startsWith('POST /v1/traces application/json'))).toBe(true);
    const server = trace.find((s) => s.kind === SPAN_KIND.SERVER);
    const wait = trace.find((s) => s.kind === SPAN_KIND.INTERNAL);
    const upstream = trace.find((s) => s.kind === SPAN_KIND.CLIENT);
    expect(server).toBeDefined();
    expect(server?.parentSpanId).toBe(CALLER_SPAN_ID);
    expect(server?.serviceName).toBe('slimfaas-e2e');
    expect(server?.name).toBe('GET /function/{name}');
    expect(attr(server!, 'http.request.method')).toBe('GET');
    expect(attr(server!, 'http.route')).toBe('/function/{name}');
    expect(attr(server!, 'url.path')).toBe('/function/obs-cold/echo/traced');
    expect(attr(server!, 'http.response.status_code')).toBe(200);
    expect(attr(server!, 'faas.name')).toBe('obs-cold');
    expect(attr(server!, 'slimfaas.cold_start')).toBe(true);
    expect(attr(server!, 'slimfaas.request_id')).toBe(TRACE_ID);
    expect(wait?.name).toBe('cold start wait');
    expect(wait?.parentSpanId).toBe(server?.spanId);
    expect(attr(wait!, 'slimfaas.wake_outcome')).toBe('ready');
    expect(upstream?.parentSpanId).toBe(server?.spanId);
    expect(upstream?.spanId).toBe(sent?.[2]);
    expect(attr(upstream!, 'http.request.method')).toBe('GET');
    expect(attr(upstream!, 'server.address')).toBe('127.0.0.1');
    expect(attr(upstream!, 'http.response.status_code')).toBe(200);
    expect(attr(upstream!, 'slimfaas.replica')).toBe('obs-cold-0');

    // The wake and the scale decision it caused are logged, with the decision's reason.
    const lines = await waitUntil(
      () => {
        const all = logLines(slimfaas);
        const wake = all.find((l) => l.msg === 'wake obs-cold');
        const scale = all.find((l) => l.function === 'obs-cold' && l.from === 0 && l.to === 1);
        return wake !== undefined && scale !== undefined ? { wake, scale } : undefined;
      },
      { message: 'wake and scale lines for obs-cold' },
    );
    expect(lines.wake).toMatchObject({ level: 30, function: 'obs-cold', component: 'scaler' });
    expect(lines.scale).toMatchObject({
      level: 30,
      reason: 'request',
      msg: 'scale obs-cold 0 -> 1 (request)',
    });
  });

  it('stores the request id with an async request, so its delivery carries it', async () => {
    const res = await fetch(`${slimfaas.url}/async-function/obs-warm/event-sink/async`, {
      method: 'POST',
      headers: { 'x-request-id': 'async-id-7' },
      body: 'queued',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe('async-id-7');
    const generated = await fetch(`${slimfaas.url}/async-function/obs-warm/event-sink/async-generated`, {
      method: 'POST',
      body: 'queued',
    });
    const generatedId = generated.headers.get('x-request-id');
    expect(generatedId).toMatch(GENERATED_ID);
    await waitUntil(
      () =>
        deliveries.deliveries.some(
          (d) => d.path === '/event-sink/async' && d.headers['x-request-id'] === 'async-id-7',
        ) &&
        deliveries.deliveries.some(
          (d) => d.path === '/event-sink/async-generated' && d.headers['x-request-id'] === generatedId,
        ),
      { timeoutMs: 15_000, message: 'async deliveries with their request ids' },
    );
  });

  it('sends the request id with every event delivery', async () => {
    const res = await fetch(`${slimfaas.url}/publish-event/obs-event/event-sink/published`, {
      method: 'POST',
      headers: { 'x-request-id': 'event-id-3' },
      body: 'e',
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('x-request-id')).toBe('event-id-3');
    await waitUntil(
      () =>
        deliveries.deliveries.some(
          (d) => d.path === '/event-sink/published' && d.headers['x-request-id'] === 'event-id-3',
        ),
      { message: 'event delivery with the request id' },
    );
  });

  it('queries only metric names that a real /metrics scrape exposes (Grafana dashboard)', async () => {
    const dashboard = readFileSync(join(REPO_ROOT, 'deploy', 'grafana', 'slimfaas-dashboard.json'), 'utf8');
    const queried = new Set(dashboard.match(/\bslimfaas_[a-z0-9_]+/g));
    expect(queried.size).toBeGreaterThan(10);
    const scrape = await (await fetch(`${slimfaas.url}/metrics`)).text();
    const exposed = new Set<string>();
    for (const match of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name = '', type] = match;
      exposed.add(name);
      if (type === 'histogram')
        for (const suffix of ['_bucket', '_count', '_sum']) exposed.add(name + suffix);
    }
    for (const line of scrape.split('\n'))
      if (/^slimfaas_/.test(line)) exposed.add(line.split(/[{ ]/)[0] ?? '');
    expect([...queried].filter((name) => !exposed.has(name))).toEqual([]);
    // The cold start of the tracing test is in the histogram the dashboard's cold-start panels read.
    expect(scrape).toMatch(/^slimfaas_cold_start_duration_seconds_count\{function="obs-cold"\} [1-9]/m);
    expect(scrape).toMatch(/^slimfaas_function_replicas_ready\{function="obs-warm"\} 1$/m);
  });
});
