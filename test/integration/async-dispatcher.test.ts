import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ActivityTracker } from '../../src/core/activity.js';
import { encodeStoredRequest, type StoredRequest } from '../../src/core/async-request.js';
import { ManualClock, systemClock, type Clock } from '../../src/core/clock.js';
import { DEFAULT_CONFIGURATION, type FunctionSpec, type RetryPolicy } from '../../src/core/function-spec.js';
import type { Waker } from '../../src/core/ports.js';
import { readyReplicas } from '../../src/core/topology.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';
import { AsyncDispatcher } from '../../src/workers/async-dispatcher.js';
import { recordingLogger, testFunctionSpec, type LogEntry } from '../contracts/orchestrator-contract.js';
import { waitUntil } from '../helpers/wait-until.js';

/** What a replica received, in arrival order. */
interface Hit {
  readonly replica: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void;

const ok: Behaviour = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
const status =
  (code: number): Behaviour =>
  (_req, res) =>
    res.writeHead(code).end();
const after =
  (ms: number, then: Behaviour): Behaviour =>
  (req, res) =>
    setTimeout(() => then(req, res), ms);
const hang: Behaviour = () => undefined;
const reset: Behaviour = (req) => req.socket.destroy();

/** Real node:http servers as the replicas of every function; each records hits and concurrency. */
class Functions {
  readonly hits: Hit[] = [];
  behaviour: Behaviour = ok;
  /** When true, new replicas get the origin of a closed port (connection refused). */
  down = false;
  active = 0;
  maxActive = 0;
  readonly activeByReplica = new Map<string, number>();
  readonly maxByReplica = new Map<string, number>();

  readonly start = async (name: string, index: number) => {
    const replica = `${name}-${index}`;
    const server = createServer((req, res) => {
      this.#enter(replica, 1);
      res.on('close', () => this.#enter(replica, -1));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.hits.push({ replica, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        this.behaviour(req, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const stop = () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    if (this.down) await stop();
    return { origin, stop: this.down ? () => Promise.resolve() : stop };
  };

  #enter(replica: string, by: number): void {
    this.active += by;
    this.maxActive = Math.max(this.maxActive, this.active);
    const n = (this.activeByReplica.get(replica) ?? 0) + by;
    this.activeByReplica.set(replica, n);
    this.maxByReplica.set(replica, Math.max(this.maxByReplica.get(replica) ?? 0, n));
  }
}

interface Stack {
  readonly functions: Functions;
  readonly store: EmbeddedStateStore;
  readonly orchestrator: MemoryOrchestrator;
  readonly activity: ActivityTracker;
  readonly dispatcher: AsyncDispatcher;
  readonly logs: LogEntry[];
  readonly clock: Clock;
  /** Enqueues like the `/async-function` route does; returns the element id. */
  enqueue(name: string, request?: Partial<StoredRequest>, policy?: RetryPolicy, id?: string): Promise<string>;
  /** One deterministic pass, then waits for the attempts it started to end. */
  pass(): Promise<void>;
  /** The `async delivery` debug lines of `name` (one per attempt that reached an outcome). */
  attempts(name: string): LogEntry[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startStack(
  specs: readonly FunctionSpec[],
  options: {
    clock?: Clock;
    waker?: (orchestrator: MemoryOrchestrator) => Waker;
    functions?: Functions;
    store?: EmbeddedStateStore;
    isLeader?: () => boolean;
  } = {},
): Promise<Stack> {
  const clock = options.clock ?? systemClock;
  const functions = options.functions ?? new Functions();
  const store = options.store ?? (await EmbeddedStateStore.open({ ephemeral: true, thread: 'main' }));
  if (options.store === undefined) cleanups.push(() => store.close());
  const orchestrator = new MemoryOrchestrator({
    functions: specs.map((spec) => ({ spec })),
    startReplica: functions.start,
  });
  cleanups.push(() => orchestrator.close());
  await orchestrator.start();
  const logger = recordingLogger();
  const activity = new ActivityTracker(clock);
  const dispatcher = new AsyncDispatcher({
    store,
    orchestrator,
    waker: options.waker?.(orchestrator) ?? { wake: () => undefined },
    activity,
    clock,
    logger,
    ...(options.isLeader ? { isLeader: options.isLeader } : {}),
  });
  cleanups.push(() => dispatcher.close());
  for (const spec of specs) {
    await waitUntil(
      () => readyReplicas(orchestrator.functions().get(spec.name)!).length === spec.replicasMin,
      {
        message: `${spec.name} has ${spec.replicasMin} ready replicas`,
      },
    );
  }
  return {
    functions,
    store,
    orchestrator,
    activity,
    dispatcher,
    logs: logger.entries,
    clock,
    async enqueue(name, request = {}, policy = DEFAULT_CONFIGURATION.defaultAsync, id = randomUUID()) {
      const payload = encodeStoredRequest({
        method: 'POST',
        path: '/',
        headers: [],
        body: new Uint8Array(),
        ...request,
      });
      expect(await store.enqueue(name, { id, payload, enqueuedAtMs: clock.now(), policy })).toBe('enqueued');
      return id;
    },
    async pass() {
      await dispatcher.runPass();
      await dispatcher.whenIdle();
    },
    attempts: (name) =>
      logger.entries.filter((e) => e.msg === 'async delivery' && e.fields.function === name),
  };
}

const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function queueIsEmpty(store: EmbeddedStateStore, name: string): Promise<boolean> {
  const c = await store.counts(name);
  return c.ready + c.inFlight + c.retryPending === 0;
}

describe('AsyncDispatcher (real store, real sockets)', () => {
  it('delivers in FIFO order with NumberParallelRequest 1', async () => {
    const name = uniqueName('fifo');
    const stack = await startStack([testFunctionSpec(name, { replicasMin: 1, numberParallelRequest: 1 })]);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await stack.enqueue(name, { path: `/item/${i}` }));
    stack.dispatcher.start();
    await waitUntil(() => queueIsEmpty(stack.store, name), { message: 'queue drained' });
    expect(stack.functions.hits.map((h) => h.headers['slimfaas-element-id'])).toEqual(ids);
    expect(stack.functions.maxActive).toBe(1);
  });

  it('never has more than NumberParallelRequest in flight across two replicas, and uses both', async () => {
    const name = uniqueName('global');
    const stack = await startStack([
      testFunctionSpec(name, { replicasMin: 2, numberParallelRequest: 3, numberParallelRequestPerPod: 10 }),
    ]);
    stack.functions.behaviour = after(20, ok);
    stack.dispatcher.start();
    for (let i = 0; i < 24; i++) await stack.enqueue(name);
    await waitUntil(() => queueIsEmpty(stack.store, name), { message: 'queue drained' });
    expect(stack.functions.hits).toHaveLength(24);
    expect(stack.functions.maxActive).toBe(3);
    expect([...stack.functions.maxByReplica.keys()].sort()).toEqual([`${name}-0`, `${name}-1`]);
  });

  it('never has more than NumberParallelRequestPerPod in flight on one replica', async () => {
    const name = uniqueName('perpod');
    const stack = await startStack([
      testFunctionSpec(name, { replicasMin: 2, numberParallelRequest: 10, numberParallelRequestPerPod: 2 }),
    ]);
    stack.functions.behaviour = after(20, ok);
    for (let i = 0; i < 16; i++) await stack.enqueue(name);
    stack.dispatcher.start();
    await waitUntil(() => queueIsEmpty(stack.store, name), { message: 'queue drained' });
    expect(stack.functions.hits).toHaveLength(16);
    expect(stack.functions.maxByReplica.get(`${name}-0`)).toBe(2);
    expect(stack.functions.maxByReplica.get(`${name}-1`)).toBe(2);
    expect(stack.functions.maxActive).toBe(4);
  });

  it.each(['POST', 'GET', 'DELETE', 'PUT'])(
    'replays a stored %s exactly (path, query, headers, body) with the try headers',
    async (method) => {
      const name = uniqueName('exact');
      const stack = await startStack([testFunctionSpec(name, { replicasMin: 1 })]);
      const id = await stack.enqueue(name, {
        method,
        path: '/orders/42?x=1&y=%2F&z',
        headers: ['X-Custom', 'a b', 'Content-Type', 'application/json', 'x-multi', '1', 'x-multi', '2'],
        body: Buffer.from('{"hello":"world"}'),
      });
      await stack.pass();
      expect(stack.functions.hits).toHaveLength(1);
      const hit = stack.functions.hits[0]!;
      expect(hit).toMatchObject({ method, url: '/orders/42?x=1&y=%2F&z', body: '{"hello":"world"}' });
      expect(hit.headers).toMatchObject({
        'x-custom': 'a b',
        'content-type': 'application/json',
        'x-multi': '1, 2',
        'content-length': '17',
        'slimfaas-element-id': id,
        'slimfaas-try-number': '1',
        'slimfaas-last-try': 'false',
      });
      expect(await queueIsEmpty(stack.store, name)).toBe(true);
    },
  );

  it('sends Slimfaas-Last-Try true when the policy allows a single attempt, and replaces stored try headers', async () => {
    const name = uniqueName('single');
    const stack = await startStack([testFunctionSpec(name, { replicasMin: 1 })]);
    const policy = { httpTimeoutSeconds: 5, timeoutRetriesSeconds: [], httpStatusRetries: [500] };
    const headers = [
      'SlimFaas-Try-Number',
      '9',
      'slimfaas-last-try',
      'false',
      'SlimFaas-Element-Id',
      'forged',
    ];
    const id = await stack.enqueue(name, { headers }, policy);
    await stack.pass();
    expect(stack.functions.hits[0]?.headers).toMatchObject({
      'slimfaas-element-id': id,
      'slimfaas-try-number': '1',
      'slimfaas-last-try': 'true',
    });
  });
});

describe('AsyncDispatcher retries (ManualClock: exact delays, no sleeping)', () => {
  const POLICY: RetryPolicy = {
    httpTimeoutSeconds: 0.3,
    timeoutRetriesSeconds: [2, 4, 8],
    httpStatusRetries: [500, 502, 503],
  };

  it.each([
    {
      failure: 'is down (connection refused)',
      down: true,
      behaviour: ok,
      last: { lastError: 'ECONNREFUSED' },
    },
    { failure: 'answers 500', down: false, behaviour: status(500), last: { lastStatus: 500 } },
    { failure: 'hangs (HttpTimeout)', down: false, behaviour: hang, last: { lastError: 'timeout' } },
    { failure: 'resets connections', down: false, behaviour: reset, last: { lastError: 'UND_ERR_SOCKET' } },
  ])(
    'makes exactly 1 + len(TimeoutRetries) attempts at the configured delays when the function $failure, then dead-letters',
    async ({ down, behaviour, last }) => {
      const name = uniqueName('retry');
      const functions = new Functions();
      functions.down = down;
      functions.behaviour = behaviour;
      const clock = new ManualClock();
      const stack = await startStack([testFunctionSpec(name, { replicasMin: 1 })], { clock, functions });
      const t0 = clock.now();
      const id = await stack.enqueue(name, {}, POLICY);
      await stack.pass();
      expect(stack.attempts(name)).toHaveLength(1);
      for (const [i, delaySeconds] of POLICY.timeoutRetriesSeconds.entries()) {
        expect(await stack.store.counts(name)).toMatchObject({ retryPending: 1, dead: 0 });
        clock.advance(delaySeconds * 1000 - 1);
        await stack.pass();
        expect(stack.attempts(name), `retry ${i + 1} not before its delay`).toHaveLength(i + 1);
        clock.advance(1);
        await stack.pass();
        expect(stack.attempts(name), `retry ${i + 1} at its delay`).toHaveLength(i + 2);
      }
      clock.advance(60_000);
      await stack.pass();
      expect(stack.attempts(name)).toHaveLength(4);
      expect(await stack.store.counts(name)).toEqual({ ready: 0, inFlight: 0, retryPending: 0, dead: 1 });
      const [dead] = await stack.store.deadLetters(name);
      expect(dead).toMatchObject({ id, lastStatus: last.lastStatus, lastError: last.lastError });
      expect(dead?.attempts.map((a) => a.startedAtMs - t0)).toEqual([0, 2_000, 6_000, 14_000]);
      if (!down) {
        expect(functions.hits.map((h) => h.headers['slimfaas-try-number'])).toEqual(['1', '2', '3', '4']);
        expect(functions.hits.map((h) => h.headers['slimfaas-last-try'])).toEqual([
          'false',
          'false',
          'false',
          'true',
        ]);
      }
      const warning = stack.logs.find((e) => e.msg === 'async request dead-lettered');
      expect(warning).toMatchObject({ level: 'warn', fields: { function: name, id, attempts: 4, ...last } });
    },
  );

  it('dead-letters a non-retryable 400 after one attempt', async () => {
    const name = uniqueName('bad');
    const functions = new Functions();
    functions.behaviour = status(400);
    const stack = await startStack([testFunctionSpec(name, { replicasMin: 1 })], {
      clock: new ManualClock(),
      functions,
    });
    const id = await stack.enqueue(name, {}, POLICY);
    await stack.pass();
    expect(await stack.store.counts(name)).toMatchObject({ ready: 0, inFlight: 0, retryPending: 0, dead: 1 });
    const [dead] = await stack.store.deadLetters(name);
    expect(dead).toMatchObject({ id, lastStatus: 400, lastError: undefined });
    expect(dead?.attempts).toHaveLength(1);
    expect(functions.hits).toHaveLength(1);
  });
});

describe('AsyncDispatcher callback mode (202)', () => {
  const POLICY: RetryPolicy = {
    httpTimeoutSeconds: 30,
    timeoutRetriesSeconds: [2],
    httpStatusRetries: [500],
  };

  async function accepted() {
    const name = uniqueName('callback');
    const functions = new Functions();
    functions.behaviour = status(202);
    const clock = new ManualClock();
    const stack = await startStack([testFunctionSpec(name, { replicasMin: 1 })], { clock, functions });
    const id = await stack.enqueue(name, {}, POLICY);
    await stack.pass();
    expect(await stack.store.counts(name)).toMatchObject({ inFlight: 1 });
    return { name, id, clock, stack };
  }

  it('completes the element when the callback reports success', async () => {
    const { name, id, stack } = await accepted();
    expect(await stack.dispatcher.callback(name, id, true)).toBe('accepted');
    expect(await queueIsEmpty(stack.store, name)).toBe(true);
    expect(await stack.store.counts(name)).toMatchObject({ dead: 0 });
    expect(await stack.dispatcher.callback(name, id, true)).toBe('not-found');
  });

  it('counts a failed callback as status 500: retried per the policy, then dead-lettered', async () => {
    const { name, id, clock, stack } = await accepted();
    expect(await stack.dispatcher.callback(name, id, false)).toBe('accepted');
    expect(await stack.store.counts(name)).toMatchObject({ retryPending: 1, inFlight: 0 });
    clock.advance(2_000);
    await stack.pass();
    expect(stack.functions.hits.map((h) => h.headers['slimfaas-try-number'])).toEqual(['1', '2']);
    expect(await stack.dispatcher.callback(name, id, false)).toBe('accepted');
    const [dead] = await stack.store.deadLetters(name);
    expect(dead).toMatchObject({ id, lastStatus: 500 });
  });

  it('accepts a callback that arrives before the 202 is seen, and applies it on the 202', async () => {
    const name = uniqueName('early');
    const functions = new Functions();
    const clock = new ManualClock();
    const stack = await startStack([testFunctionSpec(name, { replicasMin: 1 })], { clock, functions });
    const verdicts: string[] = [];
    functions.behaviour = (req, res) => {
      const id = req.headers['slimfaas-element-id'] as string;
      void stack.dispatcher.callback(name, id, true).then((verdict) => {
        verdicts.push(verdict);
        res.writeHead(202).end();
      });
    };
    await stack.enqueue(name, {}, POLICY);
    await stack.pass();
    expect(verdicts).toEqual(['accepted']);
    expect(await queueIsEmpty(stack.store, name)).toBe(true);
  });

  it('counts a callback window that passes as a timeout attempt; a late callback is not found', async () => {
    const { name, id, clock, stack } = await accepted();
    clock.advance(29_999);
    await stack.pass();
    expect(await stack.store.counts(name)).toMatchObject({ inFlight: 1, retryPending: 0 });
    clock.advance(1);
    await stack.pass();
    expect(await stack.store.counts(name)).toMatchObject({ inFlight: 0, retryPending: 1 });
    expect(await stack.dispatcher.callback(name, id, true)).toBe('not-found');
    clock.advance(2_000);
    await stack.pass();
    expect(stack.functions.hits).toHaveLength(2);
    clock.advance(30_000);
    await stack.pass();
    const [dead] = await stack.store.deadLetters(name);
    expect(dead).toMatchObject({ id, lastError: 'callback-timeout' });
    expect(dead?.attempts.map((a) => a.error)).toEqual(['callback-timeout', 'callback-timeout']);
  });
});

describe('AsyncDispatcher wake and redelivery', () => {
  it('wakes a function at zero replicas, keeps it active, and delivers once a replica is ready', async () => {
    const name = uniqueName('sleepy');
    const wakes: string[] = [];
    const stack = await startStack([testFunctionSpec(name, { replicasMin: 0 })], {
      waker: (orchestrator) => ({
        wake(fn) {
          wakes.push(fn);
          void orchestrator.setReplicas(fn, 1);
        },
      }),
    });
    stack.dispatcher.start();
    const id = await stack.enqueue(name, { path: '/wake' });
    await waitUntil(() => stack.functions.hits.length === 1, { message: 'delivered after the wake' });
    expect(wakes).toContain(name);
    expect(stack.functions.hits[0]).toMatchObject({ url: '/wake', headers: { 'slimfaas-element-id': id } });
    expect(stack.activity.get(name).lastActivityMs).toBeGreaterThan(0);
    await waitUntil(() => queueIsEmpty(stack.store, name), { message: 'completed' });
  });

  it('redelivers, as attempt 2, an element whose owner crashed once its lease expires', async () => {
    const name = uniqueName('crash');
    const clock = new ManualClock();
    const stack = await startStack([testFunctionSpec(name, { replicasMin: 1 })], { clock });
    const id = await stack.enqueue(name);
    const crashed = await stack.store.lease(name, {
      max: 1,
      owner: 'crashed',
      leaseMs: 60_000,
      nowMs: clock.now(),
    });
    expect(crashed.elements.map((e) => e.id)).toEqual([id]);
    await stack.pass();
    expect(stack.functions.hits).toHaveLength(0);
    clock.advance(60_000);
    await stack.pass();
    expect(stack.functions.hits.map((h) => h.headers['slimfaas-try-number'])).toEqual(['2']);
    expect(await queueIsEmpty(stack.store, name)).toBe(true);
  });

  it('dispatches nothing while this process is not the leader', async () => {
    const name = uniqueName('follower');
    let leader = false;
    const stack = await startStack([testFunctionSpec(name, { replicasMin: 1 })], { isLeader: () => leader });
    await stack.enqueue(name);
    await stack.pass();
    expect(stack.functions.hits).toHaveLength(0);
    leader = true;
    await stack.pass();
    expect(stack.functions.hits).toHaveLength(1);
  });

  it('close() abandons attempts in flight: a new dispatcher redelivers them after the lease expires', async () => {
    const name = uniqueName('closed');
    const clock = new ManualClock();
    const functions = new Functions();
    functions.behaviour = hang;
    const store = await EmbeddedStateStore.open({ ephemeral: true, thread: 'main' });
    cleanups.push(() => store.close());
    const policy = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [1], httpStatusRetries: [500] };
    const spec = testFunctionSpec(name, {
      replicasMin: 1,
      configuration: { ...DEFAULT_CONFIGURATION, defaultAsync: policy },
    });
    const first = await startStack([spec], { clock, functions, store });
    await first.enqueue(name, {}, policy);
    void first.dispatcher.runPass();
    await waitUntil(() => functions.hits.length === 1, { message: 'first attempt received' });
    await first.dispatcher.close();
    await first.dispatcher.close();
    expect(await store.counts(name)).toMatchObject({ inFlight: 1 });
    functions.behaviour = ok;
    const second = await startStack([spec], { clock, functions, store });
    await second.pass();
    expect(functions.hits).toHaveLength(1);
    clock.advance(40_000);
    await second.pass();
    expect(functions.hits.map((h) => h.headers['slimfaas-try-number'])).toEqual(['1', '2']);
    expect(await queueIsEmpty(store, name)).toBe(true);
  });
});
