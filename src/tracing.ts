import { createRequire } from 'node:module';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as SdkTraceBase from '@opentelemetry/sdk-trace-base';
import type { ServerConfig } from './config/read-config.js';
import type { Logger } from './core/ports.js';
import { OtelCallTracer, type CallTracer } from './http/call-tracing.js';

export interface Tracing {
  readonly tracer: CallTracer;
  /** Flushes the spans still buffered, then stops exporting. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry tracing when an OTLP endpoint is configured, else undefined (then the app holds no tracer
 * and its hot path makes no tracing call). Spans are batched and sent as OTLP/HTTP JSON. The provider is
 * not registered globally: SlimFaas passes its tracer explicitly, so nothing else in the process is traced
 * by accident. The exporter and batch processor also honour their own standard variables
 * (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_*`, `OTEL_TRACES_SAMPLER`…).
 */
export function startTracing(config: ServerConfig, logger: Logger): Tracing | undefined {
  const url = tracesUrl(config);
  if (url === undefined) return undefined;
  // Loaded only here: the OpenTelemetry SDK and exporter cost ~7 MiB of resident memory that a SlimFaas
  // without an OTLP endpoint (the default) should not pay (bench/README.md, idle RSS). Their CommonJS
  // builds are loaded synchronously so that composing the app stays synchronous.
  const require = createRequire(import.meta.url);
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp;
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof Resources;
  const { BasicTracerProvider, BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof SdkTraceBase;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.otelServiceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  logger.info({ url, serviceName: config.otelServiceName }, 'OpenTelemetry tracing on');
  let stopped: Promise<void> | undefined;
  return {
    tracer: new OtelCallTracer(provider.getTracer('slimfaas')),
    shutdown() {
      stopped ??= provider.shutdown();
      return stopped;
    },
  };
}

/** OTLP/HTTP spec: the signal URL is used as is; the base URL gets `v1/traces` appended. */
export function tracesUrl(config: ServerConfig): string | undefined {
  if (config.otelExporterOtlpTracesEndpoint !== '') return config.otelExporterOtlpTracesEndpoint;
  if (config.otelExporterOtlpEndpoint === '') return undefined;
  return `${config.otelExporterOtlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
}
