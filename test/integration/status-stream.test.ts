import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ActivityFeed } from '../../src/core/activity-feed.js';
import { ActivityTracker } from '../../src/core/activity.js';
import { systemClock } from '../../src/core/clock.js';
import type { FunctionSpec } from '../../src/core/function-spec.js';
import { createApp } from '../../src/http/create-app.js';
import { startServer } from '../../src/http/server.js';
import { StaticFiles } from '../../src/http/static-files.js';
import { StatusStream } from '../../src/http/status-stream.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';
import { AsyncDispatcher } from '../../src/workers/async-dispatcher.js';
import { ScalerWorker } from '../../src/workers/scaler-worker.js';
import { Replicas } from '../helpers/app-stack.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';
import { openSse, type SseClient, type SseFrame } from '../helpers/sse-client.js';
import { testFunctionSpec } from '../helpers/test-function-spec.js';
import { waitUntil } from '../helpers/wait-until.js';

const UI_DIRECTORY = join(import.meta.dirname, '..', '..', 'src', 'ui');

interface Stack {
  readonly url: string;
  readonly feed: ActivityFeed;
  readonly stream: StatusStream;
  readonly orchestrator: MemoryOrchestrator;
  readonly replicas: Replicas;
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The real app with a status stream, scaler, async dispatcher and SQLite store; replicas are real servers. */
async function startStack(
  functions: readonly FunctionSpec[],
  settings: { maxClients?: number; heartbeatMs?: number } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'status-stream-'));
  const store = await EmbeddedStateStore.open({ directory: dir });
  const replicas = new Replicas();
  const orchestrator = new MemoryOrchestrator({
    functions: functions.map((spec) => ({ spec })),
    startReplica: replicas.start,
  });
  const clock = systemClock;
  const activity = new ActivityTracker(clock);
  const feed = new ActivityFeed({ clock });
  const logger = recordingLogger();
  const scaler = new ScalerWorker({
    orchestrator,
    activity,
    feed,
    clock,
    logger,
    intervalMs: 50,
    scaledUpByDefaultWhenNeverCalled: false,
  });
  const dispatcher = new AsyncDispatcher({
    store,
    orchestrator,
    waker: scaler,
    activity,
    feed,
    clock,
    logger,
  });
  let ready = true;
  const stream = new StatusStream({
    orchestrator,
    activity,
    feed,
    store,
    clock,
    logger,
    nodeId: 'node-a',
    isReady: () => ready,
    settings: {
      maxClients: settings.maxClients ?? 10,
      stateIntervalMs: 500,
      changeDelayMs: 20,
      heartbeatMs: settings.heartbeatMs ?? 15_000,
    },
  });
  const app = createApp({
    orchestrator,
    activity,
    waker: scaler,
    logger,
    clock,
    feed,
    statusStream: stream,
    ui: StaticFiles.load(UI_DIRECTORY),
    async: { store, callbacks: dispatcher, maxBodyBytes: 1024 * 1024 },
    settings: { maxHeldRequestsPerFunction: 100, maxRequestBodyBytes: 1024 * 1024, requestLogLevel: 'debug' },
    isReady: () => ready,
  });
  await orchestrator.start();
  scaler.start();
  dispatcher.start();
  const server = await startServer(app.handle, { host: '127.0.0.1', port: 0 });
  const stack: Stack = {
    url: server.url,
    feed,
    stream,
    orchestrator,
    replicas,
    setReady: (value) => (ready = value),
    async close() {
      await server.close(100);
      await dispatcher.close();
      scaler.close();
      await app.close();
      await orchestrator.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cleanups.push(() => stack.close());
  return stack;
}

async function open(url: string): Promise<SseClient> {
  const client = await openSse(`${url}/status-functions-stream`);
  cleanups.push(() => Promise.resolve(client.close()));
  return client;
}

type StateJson = {
  Functions: Record<string, unknown>[];
  Queues: Record<string, unknown>[];
  SlimFaasNodes: Record<string, unknown>[];
} & Record<string, unknown>;

const state = (frame: SseFrame): StateJson => JSON.parse(frame.data) as StateJson;
const activities = (frames: SseFrame[]): Record<string, unknown>[] =>
  frames.flatMap((f) =>
    f.event === 'activity'
      ? [JSON.parse(f.data) as Record<string, unknown>]
      : f.event === 'activity_batch'
        ? (JSON.parse(f.data) as Record<string, unknown>[])
        : [],
  );

describe('GET /status-functions-stream', () => {
  it('sends a state frame with the FunctionStatusDetailed fields, queues, jobs and this node as leader', async () => {
    const stack = await startStack([
      testFunctionSpec('alpha', { defaultVisibility: 'Private', dependsOn: ['beta'] }),
      testFunctionSpec('beta', { replicasMin: 1 }),
    ]);
    const client = await open(stack.url);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache');
    expect(client.headers['x-accel-buffering']).toBe('no');
    const first = state(await client.next((f) => f.event === 'state'));
    expect(Object.keys(first)).toEqual([
      'Functions',
      'Queues',
      'Jobs',
      'SlimFaasReplicas',
      'SlimFaasNodes',
      'FrontEnabled',
      'FrontMessage',
      'TimestampMs',
      'QueuesError',
      'RecentActivity',
    ]);
    const alpha = first.Functions.find((f) => f.Name === 'alpha');
    expect(Object.keys(alpha ?? {}).slice(0, 20)).toEqual([
      'Name',
      'NumberReady',
      'NumberRequested',
      'PodType',
      'Visibility',
      'Trust',
      'ReplicasMin',
      'ReplicasAtStart',
      'TimeoutSecondBeforeSetReplicasMin',
      'NumberParallelRequest',
      'NumberParallelRequestPerPod',
      'Resources',
      'Schedule',
      'Scale',
      'Retry',
      'SubscribeEvents',
      'PathsStartWithVisibility',
      'DependsOn',
      'Pods',
      'LastActivityMs',
    ]);
    // Private functions are listed, as by /status-functions (reference §1.5, §1.6).
    expect(alpha).toMatchObject({ Visibility: 'Private', DependsOn: ['beta'], NumberRequested: 0 });
    expect(first.Queues).toContainEqual({
      Name: 'alpha',
      Length: 0,
      Ready: 0,
      InFlight: 0,
      RetryPending: 0,
      Dead: 0,
    });
    expect(first.Jobs).toEqual([]);
    expect(first.SlimFaasNodes).toEqual([{ Name: 'node-a', Status: 'Running', Leader: true }]);
    // beta is kept up by ReplicasMin: once ready, a later frame says so and why.
    const betaUp = await client.next((f) => {
      if (f.event !== 'state') return false;
      const beta = state(f).Functions.find((fn) => fn.Name === 'beta');
      return beta?.NumberReady === 1;
    });
    const beta = state(betaUp).Functions.find((fn) => fn.Name === 'beta');
    expect(beta).toMatchObject({ AwakeReason: 'min-replicas', Pods: [{ Name: 'beta-0', Ready: true }] });
  });

  it('sends activity frames for a sync request: in, wake, scale up, out with the replica and status', async () => {
    const stack = await startStack([testFunctionSpec('gamma')]);
    const client = await open(stack.url);
    await client.next((f) => f.event === 'state');
    const res = await fetch(`${stack.url}/function/gamma/hello`);
    expect(res.status).toBe(200);
    await waitUntil(() => activities(client.frames).some((a) => a.Type === 'request_out'));
    const events = activities(client.frames);
    expect(events.map((e) => e.Type)).toEqual(
      expect.arrayContaining(['request_in', 'wake', 'scale_up', 'request_out']),
    );
    expect(events.find((e) => e.Type === 'scale_up')).toMatchObject({
      Function: 'gamma',
      From: 0,
      To: 1,
      Reason: 'request',
      NodeId: 'node-a',
    });
    const out = events.find((e) => e.Type === 'request_out');
    expect(out).toMatchObject({ Function: 'gamma', Replica: 'gamma-0', Status: 200 });
    expect(typeof out?.TimestampMs).toBe('number');
    expect(out?.Id).toMatch(/^node-a-\d+$/);
    // The change is followed by a state frame showing the function up and awake because of a request.
    await client.next((f) => {
      const fn = f.event === 'state' ? state(f).Functions[0] : undefined;
      return fn?.NumberReady === 1 && fn.AwakeReason === 'request' && typeof fn.ScaleDownAtMs === 'number';
    });
  });

  it('shows an async request enqueued, dequeued and completed, and the queue counts', async () => {
    const stack = await startStack([testFunctionSpec('delta')]);
    // The function takes a while to answer, so state frames see the element in flight.
    stack.replicas.behaviours.set('/job', (_req, res) => {
      setTimeout(() => res.end('done'), 600);
    });
    const client = await open(stack.url);
    await client.next((f) => f.event === 'state');
    const res = await fetch(`${stack.url}/async-function/delta/job`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(202);
    await waitUntil(() => activities(client.frames).some((a) => a.Type === 'attempt_end'));
    const events = activities(client.frames);
    expect(events.find((e) => e.Type === 'enqueue')).toMatchObject({ Function: 'delta' });
    expect(events.find((e) => e.Type === 'dequeue')).toMatchObject({ Function: 'delta', Attempt: 1 });
    expect(events.find((e) => e.Type === 'attempt_end')).toMatchObject({ Outcome: 'complete' });
    // Some state frame saw the element queued (or in flight), a later one the queue empty again.
    const queued = await client.next((f) => {
      const q = f.event === 'state' ? state(f).Queues[0] : undefined;
      return q !== undefined && (q.Length as number) > 0;
    });
    const index = client.frames.indexOf(queued);
    await waitUntil(() =>
      client.frames.slice(index + 1).some((f) => f.event === 'state' && state(f).Queues[0]?.Length === 0),
    );
  });

  it('answers 429 beyond the client cap, and frees the slot when a client disconnects', async () => {
    const stack = await startStack([testFunctionSpec('eps')], { maxClients: 2 });
    const a = await open(stack.url);
    const b = await open(stack.url);
    const c = await open(stack.url);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
    await waitUntil(() => c.ended());
    expect(JSON.parse(c.body())).toMatchObject({ error: 'too_many_stream_clients' });
    expect(c.headers['retry-after']).toBe('5');
    expect(stack.stream.clientCount).toBe(2);
    expect(stack.feed.active).toBe(true);
    a.close();
    b.close();
    await waitUntil(() => stack.stream.clientCount === 0);
    // No client: the stream stops listening to the feed (publishers pay nothing).
    expect(stack.feed.active).toBe(false);
    const d = await open(stack.url);
    expect(d.status).toBe(200);
  });

  it('sends heartbeat comments and ends its streams when the process stops being ready', async () => {
    const stack = await startStack([testFunctionSpec('zeta')], { heartbeatMs: 50 });
    const client = await open(stack.url);
    await waitUntil(() => client.comments.includes('heartbeat'));
    stack.setReady(false);
    await waitUntil(() => client.ended());
    await waitUntil(() => stack.stream.clientCount === 0);
  });

  it('refuses other methods with 405', async () => {
    const stack = await startStack([testFunctionSpec('eta')]);
    const res = await fetch(`${stack.url}/status-functions-stream`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});

describe('the dashboard files', () => {
  it('serves / and its assets with their content types, ETags and no-cache', async () => {
    const stack = await startStack([testFunctionSpec('theta')]);
    const page = await fetch(`${stack.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<title>SlimFaas dashboard</title>');
    for (const [path, type] of [
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const res = await fetch(`${stack.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
      const etag = res.headers.get('etag') ?? '';
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await fetch(`${stack.url}${path}`, { headers: { 'if-none-match': etag } });
      expect(again.status, path).toBe(304);
    }
  });

  it('never serves a path outside the loaded files', async () => {
    const stack = await startStack([testFunctionSpec('iota')]);
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '//etc/passwd']) {
      expect(await rawStatus(stack.url, path), path).toBe(404);
    }
    expect((await fetch(`${stack.url}/index.html`, { method: 'POST' })).status).toBe(404);
  });
});

/** Sends the path as written (fetch would normalise `..`). */
function rawStatus(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/`, { path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
