import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { OtelCallTracer } from '../../src/http/call-tracing.js';
import type { RequestLogLevel } from '../../src/http/request-log.js';
import { startAppStack, type AppStack } from '../helpers/app-stack.js';
import { recordingLogger, type LogEntry } from '../contracts/orchestrator-contract.js';
import { testFunctionSpec } from '../helpers/test-function-spec.js';
import { waitUntil } from '../helpers/wait-until.js';

const stacks: AppStack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});

let counter = 0;
const uniqueName = (prefix: string): string => `${prefix}-${process.pid}-${counter++}`;

async function stackWith(
  level: RequestLogLevel,
  tracer?: OtelCallTracer,
): Promise<{ stack: AppStack; entries: LogEntry[]; name: string }> {
  const name = uniqueName('logged');
  const logger = recordingLogger();
  const stack = await startAppStack([testFunctionSpec(name, { replicasMin: 1, replicasAtStart: 1 })], {
    logger,
    requestLogLevel: level,
    ...(tracer ? { tracer } : {}),
  });
  stacks.push(stack);
  stack.replicas.behaviours.set('/reset', (req) => req.socket.destroy());
  await waitUntil(
    () =>
      stack.orchestrator
        .functions()
        .get(name)
        ?.replicas.some((r) => r.ready),
    {
      message: 'replica ready',
    },
  );
  return { stack, entries: logger.entries, name };
}

const syncCalls = (entries: LogEntry[]) => entries.filter((e) => e.msg === 'sync call');

describe('request log line (in-process app, real replica servers)', () => {
  it('logs one line per request at the configured level, with its fields', async () => {
    const { stack, entries, name } = await stackWith('info');
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${stack.url}/function/${name}/hello/${i}?token=secret`, {
        headers: { 'x-request-id': `id-${i}` },
      });
      await res.arrayBuffer();
    }
    await waitUntil(() => syncCalls(entries).length >= 5, { message: 'five log lines' });
    const lines = syncCalls(entries);
    expect(lines).toHaveLength(5);
    expect(lines.map((l) => l.fields.requestId)).toEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    expect(lines[0]).toMatchObject({
      level: 'info',
      fields: {
        method: 'GET',
        function: name,
        path: '/hello/0',
        status: 200,
        replica: `${name}-0`,
        coldStart: false,
        outcome: 'completed',
      },
    });
    expect(typeof lines[0]?.fields.durationMs).toBe('number');
    expect(lines[0]?.fields).not.toHaveProperty('traceId');
  });

  it('logs nothing per request when off, but still logs a failed exchange at warn with its 502', async () => {
    const { stack, entries, name } = await stackWith('off');
    await (await fetch(`${stack.url}/function/${name}/ok`)).arrayBuffer();
    const failed = await fetch(`${stack.url}/function/${name}/reset`, {
      headers: { 'x-request-id': 'broken-1' },
    });
    expect(failed.status).toBe(502);
    // The error answer carries the request id too.
    expect(failed.headers.get('x-request-id')).toBe('broken-1');
    await failed.arrayBuffer();
    await waitUntil(() => syncCalls(entries).length >= 1, { message: 'the failure line' });
    expect(syncCalls(entries)).toEqual([
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ requestId: 'broken-1', status: 502, outcome: 'failed' }) as object,
      }),
    ]);
  });

  it('with tracing off, adds no traceparent and forwards the caller one unchanged', async () => {
    const { stack, name } = await stackWith('info');
    await (await fetch(`${stack.url}/function/${name}/plain`)).arrayBuffer();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await (await fetch(`${stack.url}/function/${name}/traced`, { headers: { traceparent } })).arrayBuffer();
    const plain = stack.replicas.received.find((r) => r.url === '/plain');
    const traced = stack.replicas.received.find((r) => r.url === '/traced');
    expect(plain?.headers.traceparent).toBeUndefined();
    expect(plain?.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(traced?.headers.traceparent).toBe(traceparent);
    expect(traced?.headers['x-request-id']).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('logs at debug when configured so', async () => {
    const { stack, entries, name } = await stackWith('debug');
    await (await fetch(`${stack.url}/function/${name}/x`)).arrayBuffer();
    await waitUntil(() => syncCalls(entries).length === 1, { message: 'one line' });
    expect(syncCalls(entries)[0]?.level).toBe('debug');
  });
});

describe('OtelCallTracer (in-memory exporter)', () => {
  it('records a server span and an upstream client span, marking a 502 as an error with its type', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const { stack, entries, name } = await stackWith('info', new OtelCallTracer(provider.getTracer('test')));
    const ok = await fetch(`${stack.url}/function/${name}/ok`);
    await ok.arrayBuffer();
    const failed = await fetch(`${stack.url}/function/${name}/reset`);
    await failed.arrayBuffer();
    await waitUntil(() => exporter.getFinishedSpans().length >= 4, { message: 'four spans' });
    const spans = exporter.getFinishedSpans();
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(servers).toHaveLength(2);
    expect(clients).toHaveLength(2);
    for (const client of clients) {
      const parent = servers.find((s) => s.spanContext().spanId === client.parentSpanContext?.spanId);
      expect(parent?.spanContext().traceId).toBe(client.spanContext().traceId);
    }
    const failedServer = servers.find((s) => s.attributes['url.path'] === `/function/${name}/reset`);
    expect(failedServer?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failedServer?.attributes['http.response.status_code']).toBe(502);
    expect(typeof failedServer?.attributes['error.type']).toBe('string');
    const okServer = servers.find((s) => s.attributes['url.path'] === `/function/${name}/ok`);
    expect(okServer?.status.code).toBe(SpanStatusCode.UNSET);
    // A generated request id is not the trace id; the log line carries the trace id to join them.
    const okLine = syncCalls(entries).find((l) => l.fields.path === '/ok');
    expect(okLine?.fields.traceId).toBe(okServer?.spanContext().traceId);
    expect(okServer?.attributes['slimfaas.request_id']).toBe(okLine?.fields.requestId);
    await provider.shutdown();
  });
});
