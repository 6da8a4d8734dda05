import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActivityTracker } from '../../src/core/activity.js';
import { systemClock } from '../../src/core/clock.js';
import type { FunctionSpec } from '../../src/core/function-spec.js';
import type { Logger } from '../../src/core/ports.js';
import type { CallTracer } from '../../src/http/call-tracing.js';
import type { CallerPolicy } from '../../src/http/caller-policy.js';
import type { RequestLogLevel } from '../../src/http/request-log.js';
import { createApp } from '../../src/http/create-app.js';
import { startServer } from '../../src/http/server.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { ScalerWorker } from '../../src/workers/scaler-worker.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';

/** What a replica received. */
export interface Received {
  readonly replica: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A scripted answer: by default 200 `{"replica": …}` after the body is read. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, received: Received) => void;

/** Real HTTP servers as replicas; each records what it received, then runs the behaviour for its path. */
export class Replicas {
  readonly received: Received[] = [];
  readonly behaviours = new Map<string, Behaviour>();

  readonly start = async (name: string, index: number) => {
    const replica = `${name}-${index}`;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = req.url ?? '/';
        const received: Received = {
          replica,
          method: req.method ?? '',
          url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.received.push(received);
        const behaviour = this.behaviours.get(url.split('?')[0] as string);
        if (behaviour !== undefined) return behaviour(req, res, received);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ replica }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stop: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  };
}

export interface AppStack {
  readonly orchestrator: MemoryOrchestrator;
  readonly activity: ActivityTracker;
  readonly replicas: Replicas;
  /** The public listener (`handle`). */
  readonly url: string;
  /** The internal listener (`handleInternal`): every caller is internal. */
  readonly internalUrl: string;
  close(): Promise<void>;
}

/** The real app, scaler and both listeners over a MemoryOrchestrator whose replicas are real servers. */
export async function startAppStack(
  functions: readonly FunctionSpec[],
  options: {
    isInternalCaller?: CallerPolicy;
    externalSubscribers?: ReadonlyMap<string, readonly string[]>;
    maxRequestBodyBytes?: number;
    /** Held sync requests per function (default 100). */
    maxHeld?: number;
    /** When false, replicas become ready only through `orchestrator.setReady` (default true). */
    autoReady?: boolean;
    /** `TIME_MAXIMUM_WAIT_FOR_AT_LEAST_ONE_POD_STARTED_FOR_SYNC_FUNCTION` (default 0: HttpTimeout alone). */
    maxWaitForReplicaMs?: number;
    /** The app's logger (default: a recording logger nobody reads). */
    logger?: Logger;
    /** Default `debug`. */
    requestLogLevel?: RequestLogLevel;
    /** OpenTelemetry spans per sync call (default: tracing off). */
    tracer?: CallTracer;
  } = {},
): Promise<AppStack> {
  const replicas = new Replicas();
  const orchestrator = new MemoryOrchestrator({
    functions: functions.map((spec) => ({ spec })),
    startReplica: replicas.start,
    autoReady: options.autoReady ?? true,
  });
  const activity = new ActivityTracker(systemClock);
  const scaler = new ScalerWorker({
    orchestrator,
    activity,
    clock: systemClock,
    logger: recordingLogger(),
    intervalMs: 50,
    scaledUpByDefaultWhenNeverCalled: false,
  });
  const app = createApp({
    orchestrator,
    activity,
    waker: scaler,
    logger: options.logger ?? recordingLogger(),
    clock: systemClock,
    ...(options.tracer ? { tracer: options.tracer } : {}),
    settings: {
      maxHeldRequestsPerFunction: options.maxHeld ?? 100,
      maxRequestBodyBytes: options.maxRequestBodyBytes ?? 1024 * 1024,
      maxWaitForReplicaMs: options.maxWaitForReplicaMs ?? 0,
      requestLogLevel: options.requestLogLevel ?? 'debug',
      ...(options.externalSubscribers ? { externalSubscribers: options.externalSubscribers } : {}),
    },
    isReady: () => true,
    ...(options.isInternalCaller ? { isInternalCaller: options.isInternalCaller } : {}),
  });
  await orchestrator.start();
  scaler.start();
  const server = await startServer(app.handle, { host: '127.0.0.1', port: 0 });
  const internal = await startServer(app.handleInternal, { host: '127.0.0.1', port: 0 });
  return {
    orchestrator,
    activity,
    replicas,
    url: server.url,
    internalUrl: internal.url,
    async close() {
      await Promise.all([server.close(100), internal.close(100)]);
      scaler.close();
      await app.close();
      await orchestrator.close();
    },
  };
}
