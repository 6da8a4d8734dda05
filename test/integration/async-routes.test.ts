import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityTracker } from '../../src/core/activity.js';
import { systemClock } from '../../src/core/clock.js';
import type { AsyncCallbackSink } from '../../src/core/ports.js';
import { createApp, type App } from '../../src/http/create-app.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';
import { recordingLogger, testFunctionSpec } from '../contracts/orchestrator-contract.js';

/** A callback sink that records calls and knows one element (a fake implementing the port). */
class RecordingSink implements AsyncCallbackSink {
  readonly calls: { name: string; id: string; succeeded: boolean }[] = [];
  callback(name: string, id: string, succeeded: boolean): Promise<'accepted' | 'not-found'> {
    this.calls.push({ name, id, succeeded });
    return Promise.resolve(id === 'known' ? 'accepted' : 'not-found');
  }
}

let store: EmbeddedStateStore;
let orchestrator: MemoryOrchestrator;
let app: App;
let server: RunningServer;
const sink = new RecordingSink();

beforeAll(async () => {
  store = await EmbeddedStateStore.open({ ephemeral: true, thread: 'main' });
  orchestrator = new MemoryOrchestrator({ functions: [{ spec: testFunctionSpec('fn') }] });
  await orchestrator.start();
  app = createApp({
    orchestrator,
    activity: new ActivityTracker(systemClock),
    waker: { wake: () => undefined },
    logger: recordingLogger(),
    clock: systemClock,
    settings: { maxHeldRequestsPerFunction: 10, maxRequestBodyBytes: 0, requestLogLevel: 'debug' },
    isReady: () => true,
    async: { store, callbacks: sink, maxBodyBytes: 1024 },
  });
  server = await startServer(app.handle, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server.close(100);
  await app.close();
  await orchestrator.close();
  await store.close();
});

describe('async routes', () => {
  it('stores the request durably before answering 202 with its element id', async () => {
    const res = await fetch(`${server.url}/async-function/fn/p?q=1`, { method: 'PUT', body: 'hello' });
    expect(res.status).toBe(202);
    const id = res.headers.get('slimfaas-element-id');
    const lease = await store.lease('fn', { max: 10, owner: 't', leaseMs: 1000, nowMs: Date.now() });
    expect(lease.elements.map((e) => e.id)).toEqual([id]);
  });

  it('answers 413 for a chunked body over the limit, and stores nothing', async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(800));
        controller.enqueue(new Uint8Array(800));
        controller.close();
      },
    });
    const res = await fetch(`${server.url}/async-function/fn/big`, {
      method: 'POST',
      body,
      duplex: 'half',
    });
    expect(res.status).toBe(413);
    expect((await store.counts('fn')).ready).toBe(0);
  });

  it('passes a callback to the dispatcher: 200 when the element waited for it, 404 otherwise', async () => {
    const ok = await fetch(`${server.url}/async-function-callback/fn/known/success`, { method: 'POST' });
    expect(ok.status).toBe(200);
    const unknown = await fetch(`${server.url}/async-function-callback/fn/nope/failed`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(sink.calls).toEqual([
      { name: 'fn', id: 'known', succeeded: true },
      { name: 'fn', id: 'nope', succeeded: false },
    ]);
    expect((await fetch(`${server.url}/async-function-callback/fn/known/success`)).status).toBe(405);
    expect(
      (await fetch(`${server.url}/async-function-callback/zzz/known/success`, { method: 'POST' })).status,
    ).toBe(404);
  });

  it('answers 503 store_unavailable, never a silent 202, when the store is down', async () => {
    await store.close();
    const res = await fetch(`${server.url}/async-function/fn/x`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('store_unavailable');
    expect(res.headers.get('slimfaas-element-id')).toBeNull();
  });
});
