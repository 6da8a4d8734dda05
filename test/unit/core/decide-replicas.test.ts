import { testFunctionSpec } from '../../helpers/test-function-spec.js';
import { describe, expect, it } from 'vitest';
import type { FunctionActivity } from '../../../src/core/activity.js';
import { decideReplicas } from '../../../src/core/decide-replicas.js';
import type { FunctionSpec } from '../../../src/core/function-spec.js';
import type { ScaleInput } from '../../../src/core/scale-decision.js';
import type { FunctionState, Replica } from '../../../src/core/topology.js';

const NOW = Date.parse('2026-01-15T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;

const spec = testFunctionSpec;

interface FnOptions extends Partial<FunctionSpec> {
  requested?: number;
  /** Ready replicas; defaults to `requested`. */
  ready?: number;
  unschedulable?: boolean;
}

function fn(name: string, options: FnOptions = {}): FunctionState {
  const { requested = 0, ready = requested, unschedulable = false, ...overrides } = options;
  const replicas: Replica[] = Array.from({ length: Math.max(requested, ready) }, (_, i) => ({
    id: `${name}-${i}`,
    origin: `http://127.0.0.1:${9000 + i}`,
    ip: '127.0.0.1',
    ready: i < ready,
    unschedulable: unschedulable && i >= ready,
  }));
  return { spec: spec(name, overrides), podType: 'Deployment', requested, replicas };
}

function input(
  functions: FunctionState[],
  activity: Record<string, Partial<FunctionActivity>> = {},
  extra: Partial<ScaleInput> = {},
): ScaleInput {
  return {
    functions,
    activity: (name) => ({ lastActivityMs: 0, inFlight: 0, ...activity[name] }),
    nowMs: NOW,
    ...extra,
  };
}

const calledAt = (ms: number): Partial<FunctionActivity> => ({ lastActivityMs: ms });

describe('decideReplicas: idle timeout', () => {
  it('keeps a function up at exactly the timeout and scales it to ReplicasMin one ms later', () => {
    const functions = [fn('fib', { requested: 1 })];
    expect(decideReplicas(input(functions, { fib: calledAt(NOW - 300 * SECOND) }))).toEqual([]);
    expect(decideReplicas(input(functions, { fib: calledAt(NOW - 300 * SECOND - 1) }))).toEqual([
      { name: 'fib', from: 1, to: 0, reason: 'idle-timeout' },
    ]);
  });

  it('scales a never-called function down to ReplicasMin and leaves one at zero alone', () => {
    const functions = [fn('up', { requested: 2, replicasMin: 1 }), fn('down', { requested: 0 })];
    expect(decideReplicas(input(functions))).toEqual([
      { name: 'up', from: 2, to: 1, reason: 'idle-timeout' },
    ]);
  });

  it('returns only the functions whose count changes', () => {
    const functions = [fn('a', { requested: 1 }), fn('b', { requested: 0 }), fn('c', { requested: 1 })];
    const decisions = decideReplicas(input(functions, { a: calledAt(NOW - MINUTE) }));
    expect(decisions).toEqual([{ name: 'c', from: 1, to: 0, reason: 'idle-timeout' }]);
  });
});

describe('decideReplicas: waking', () => {
  it('wakes a function at zero to ReplicasAtStart when it is called', () => {
    const functions = [fn('fib', { replicasAtStart: 2 })];
    expect(decideReplicas(input(functions, { fib: calledAt(NOW - SECOND) }))).toEqual([
      { name: 'fib', from: 0, to: 2, reason: 'request' },
    ]);
  });

  it('wakes a function with ReplicasAtStart 0 to one replica when it is called or has queued work', () => {
    const functions = [fn('cold', { replicasAtStart: 0 })];
    expect(decideReplicas(input(functions, { cold: { lastActivityMs: NOW, inFlight: 1 } }))).toEqual([
      { name: 'cold', from: 0, to: 1, reason: 'request' },
    ]);
    const queued = input(functions, { cold: calledAt(NOW) }, { queued: () => true });
    expect(decideReplicas(queued)).toEqual([{ name: 'cold', from: 0, to: 1, reason: 'queue' }]);
  });

  it('keeps ReplicasAtStart 0 for a wake nobody waits for (never-called default)', () => {
    const functions = [fn('cold', { replicasAtStart: 0 })];
    const never = input(functions, {}, { scaledUpByDefaultWhenNeverCalled: true });
    expect(decideReplicas(never)).toEqual([]);
  });

  it('never wakes below ReplicasMin even when ReplicasAtStart is lower', () => {
    const functions = [fn('fib', { replicasAtStart: 1, replicasMin: 3 })];
    expect(decideReplicas(input(functions, { fib: calledAt(NOW) }))).toEqual([
      { name: 'fib', from: 0, to: 3, reason: 'request' },
    ]);
  });

  it('keeps a function with a request in flight awake long after its last activity', () => {
    const longCall = { lastActivityMs: NOW - 60 * MINUTE, inFlight: 1 };
    expect(decideReplicas(input([fn('fib', { requested: 1 })], { fib: longCall }))).toEqual([]);
    expect(decideReplicas(input([fn('fib')], { fib: longCall }))).toEqual([
      { name: 'fib', from: 0, to: 1, reason: 'request' },
    ]);
  });

  it('wakes a ReplicasStartAsSoonAsOneFunctionRetrieveARequest function when any function is called', () => {
    const functions = [
      fn('eager', { replicasStartAsSoonAsOneFunctionRetrieveARequest: true }),
      fn('lazy'),
      fn('called', { requested: 1 }),
    ];
    expect(decideReplicas(input(functions, { called: calledAt(NOW - MINUTE) }))).toEqual([
      { name: 'eager', from: 0, to: 1, reason: 'any-function-request' },
    ]);
  });

  it('counts a request in flight on another function for ReplicasStartAsSoonAsOne…', () => {
    const functions = [
      fn('eager', { requested: 1, replicasStartAsSoonAsOneFunctionRetrieveARequest: true }),
      fn('busy', { requested: 1 }),
    ];
    const activity = { busy: { lastActivityMs: NOW - 60 * MINUTE, inFlight: 2 } };
    expect(decideReplicas(input(functions, activity))).toEqual([]);
  });

  it('wakes never-called functions when PodScaledUpByDefaultWhenInfrastructureHasNeverCalled is set', () => {
    const functions = [fn('fresh'), fn('old')];
    const decisions = decideReplicas(
      input(functions, { old: calledAt(NOW - 60 * MINUTE) }, { scaledUpByDefaultWhenNeverCalled: true }),
    );
    expect(decisions).toEqual([{ name: 'fresh', from: 0, to: 1, reason: 'default-never-called' }]);
  });

  it('raises a function below ReplicasMin while active', () => {
    const functions = [fn('fib', { requested: 1, replicasMin: 2 })];
    expect(decideReplicas(input(functions, { fib: calledAt(NOW) }))).toEqual([
      { name: 'fib', from: 1, to: 2, reason: 'below-min' },
    ]);
  });

  it('raises an idle function at zero to its ReplicasMin', () => {
    expect(decideReplicas(input([fn('fib', { replicasMin: 1 })]))).toEqual([
      { name: 'fib', from: 0, to: 1, reason: 'below-min' },
    ]);
  });

  it('leaves counts above ReplicasMin to the HPA while active, and scales them down when idle', () => {
    const functions = [fn('fib', { requested: 5, replicasMin: 1 })];
    expect(decideReplicas(input(functions, { fib: calledAt(NOW - MINUTE) }))).toEqual([]);
    expect(decideReplicas(input(functions, { fib: calledAt(NOW - 10 * MINUTE) }))).toEqual([
      { name: 'fib', from: 5, to: 1, reason: 'idle-timeout' },
    ]);
  });
});

describe('decideReplicas: schedule', () => {
  const paris = (wakeUp: string[], scaleDownTimeout: [string, number][] = []) => ({
    timeZoneId: 'Europe/Paris',
    wakeUp: wakeUp.map((t) => ({ hour: Number(t.slice(0, 2)), minute: Number(t.slice(3)) })),
    scaleDownTimeout: scaleDownTimeout.map(([t, valueSeconds]) => ({
      time: { hour: Number(t.slice(0, 2)), minute: Number(t.slice(3)) },
      valueSeconds,
    })),
  });

  it('wakes a function at a WakeUp time and keeps it up for one timeout only', () => {
    const functions = [fn('report', { schedule: paris(['07:00']) })];
    const at = (iso: string) => decideReplicas(input(functions, {}, { nowMs: Date.parse(iso) }));
    expect(at('2026-01-15T05:59:00Z')).toEqual([]);
    expect(at('2026-01-15T06:00:00Z')).toEqual([{ name: 'report', from: 0, to: 1, reason: 'schedule' }]);
    expect(at('2026-01-15T06:05:00Z')).toEqual([{ name: 'report', from: 0, to: 1, reason: 'schedule' }]);
    expect(at('2026-01-15T06:05:01Z')).toEqual([]);
  });

  it('keeps a wake-up window open across local midnight', () => {
    const functions = [fn('nightly', { schedule: paris(['23:58']) })];
    // 00:02 local on the 16th is 23:02Z on the 15th; the wake-up was at 22:58Z.
    const decisions = decideReplicas(input(functions, {}, { nowMs: Date.parse('2026-01-15T23:02:00Z') }));
    expect(decisions).toEqual([{ name: 'nightly', from: 0, to: 1, reason: 'schedule' }]);
  });

  it('opens the wake-up window of a time skipped by DST at the end of the gap', () => {
    const functions = [fn('report', { schedule: paris(['02:30']) })];
    const at = (iso: string) => decideReplicas(input(functions, {}, { nowMs: Date.parse(iso) }));
    // 2026-03-29: 02:30 does not exist in Paris; the window opens at 03:00 CEST (01:00Z).
    expect(at('2026-03-29T01:04:00Z')).toEqual([{ name: 'report', from: 0, to: 1, reason: 'schedule' }]);
    expect(at('2026-03-29T01:05:01Z')).toEqual([]);
  });

  it('uses the ScaleDownTimeout of the time of day instead of TimeoutSecondBeforeSetReplicasMin', () => {
    const functions = [fn('fib', { requested: 1, schedule: paris([], [['07:00', 20]]) })];
    const activity = { fib: calledAt(NOW - 30 * SECOND) };
    expect(decideReplicas(input(functions, activity))).toEqual([
      { name: 'fib', from: 1, to: 0, reason: 'idle-timeout' },
    ]);
    // Before 07:00 local the single entry does not apply yet: the 300 s default does.
    const early = Date.parse('2026-01-15T05:00:00Z');
    expect(
      decideReplicas(input(functions, { fib: calledAt(early - 30 * SECOND) }, { nowMs: early })),
    ).toEqual([]);
  });
});

describe('decideReplicas: DependsOn', () => {
  it('keeps a dependant at zero until its dependency is ready, and wakes the dependency', () => {
    const functions = [fn('db'), fn('api', { dependsOn: ['db'] })];
    expect(decideReplicas(input(functions, { api: calledAt(NOW) }))).toEqual([
      { name: 'db', from: 0, to: 1, reason: 'dependant' },
    ]);
  });

  it('waits while the dependency has fewer ready replicas than its ReplicasAtStart', () => {
    const functions = [
      fn('db', { requested: 2, ready: 1, replicasAtStart: 2 }),
      fn('api', { dependsOn: ['db'] }),
    ];
    expect(decideReplicas(input(functions, { api: calledAt(NOW) }))).toEqual([]);
  });

  it('wakes a dependency with ReplicasAtStart 0 to one replica and waits for it to be ready', () => {
    const functions = [fn('db', { replicasAtStart: 0 }), fn('api', { dependsOn: ['db'] })];
    expect(decideReplicas(input(functions, { api: calledAt(NOW) }))).toEqual([
      { name: 'db', from: 0, to: 1, reason: 'dependant' },
    ]);
  });

  it('wakes the dependant once the dependency is ready', () => {
    const functions = [fn('db', { requested: 1 }), fn('api', { dependsOn: ['db'] })];
    expect(decideReplicas(input(functions, { api: calledAt(NOW) }))).toEqual([
      { name: 'api', from: 0, to: 1, reason: 'request' },
    ]);
  });

  it('treats dependency names that are not functions as ready', () => {
    const functions = [fn('api', { dependsOn: ['mysql', 'processes:redis'] })];
    expect(decideReplicas(input(functions, { api: calledAt(NOW) }))).toEqual([
      { name: 'api', from: 0, to: 1, reason: 'request' },
    ]);
  });

  it("measures a dependency's own timeout from its dependant's last activity", () => {
    const functions = [
      fn('db', { requested: 1, timeoutSecondBeforeSetReplicasMin: 10 }),
      fn('api', { requested: 1, dependsOn: ['db'] }),
    ];
    expect(decideReplicas(input(functions, { api: calledAt(NOW - 10 * SECOND) }))).toEqual([]);
    // As in SlimFaas, the dependency's shorter timeout wins even while the dependant is still up.
    expect(decideReplicas(input(functions, { api: calledAt(NOW - MINUTE) }))).toEqual([
      { name: 'db', from: 1, to: 0, reason: 'idle-timeout' },
    ]);
  });

  it('wakes a whole chain from the function that is called (A←B←C)', () => {
    const functions = [fn('a'), fn('b', { dependsOn: ['a'] }), fn('c', { dependsOn: ['b'] })];
    expect(decideReplicas(input(functions, { c: calledAt(NOW) }))).toEqual([
      { name: 'a', from: 0, to: 1, reason: 'dependant' },
    ]);
    const aReady = [fn('a', { requested: 1 }), functions[1]!, functions[2]!];
    expect(decideReplicas(input(aReady, { c: calledAt(NOW) }))).toEqual([
      { name: 'b', from: 0, to: 1, reason: 'dependant' },
    ]);
  });

  it('keeps a whole chain up while its last function is active', () => {
    const functions = [
      fn('a', { requested: 1 }),
      fn('b', { requested: 1, dependsOn: ['a'] }),
      fn('c', { requested: 1, dependsOn: ['b'] }),
    ];
    expect(decideReplicas(input(functions, { c: calledAt(NOW - MINUTE) }))).toEqual([]);
  });

  it('terminates on a DependsOn cycle and keeps both sides up', () => {
    const functions = [
      fn('a', { requested: 1, dependsOn: ['b'] }),
      fn('b', { requested: 1, dependsOn: ['a'] }),
      fn('idle', { requested: 1, dependsOn: ['a'] }),
    ];
    expect(decideReplicas(input(functions, { a: calledAt(NOW - MINUTE) }))).toEqual([
      { name: 'idle', from: 1, to: 0, reason: 'idle-timeout' },
    ]);
  });

  it('scales dependency and dependant down together when both are idle', () => {
    const functions = [fn('db', { requested: 1 }), fn('api', { requested: 1, dependsOn: ['db'] })];
    expect(decideReplicas(input(functions, { api: calledAt(NOW - 10 * MINUTE) }))).toEqual([
      { name: 'db', from: 1, to: 0, reason: 'idle-timeout' },
      { name: 'api', from: 1, to: 0, reason: 'idle-timeout' },
    ]);
  });
});

describe('decideReplicas: infrastructure guard', () => {
  it('does not scale up a function with an unschedulable replica', () => {
    const functions = [fn('fib', { requested: 1, ready: 0, replicasMin: 2, unschedulable: true })];
    expect(decideReplicas(input(functions, { fib: calledAt(NOW) }))).toEqual([]);
  });

  it('still scales down a function with an unschedulable replica', () => {
    const functions = [fn('fib', { requested: 1, ready: 0, unschedulable: true })];
    expect(decideReplicas(input(functions, { fib: calledAt(NOW - 10 * MINUTE) }))).toEqual([
      { name: 'fib', from: 1, to: 0, reason: 'idle-timeout' },
    ]);
  });
});

describe('decideReplicas: reasons', () => {
  it('gives request for a function woken by its own call', () => {
    expect(decideReplicas(input([fn('api')], { api: { lastActivityMs: NOW, inFlight: 1 } }))).toEqual([
      { name: 'api', from: 0, to: 1, reason: 'request' },
    ]);
  });

  it('gives queue when the function has queued async work', () => {
    const queued = (name: string): boolean => name === 'worker';
    const functions = [fn('worker'), fn('api')];
    const activity = { worker: calledAt(NOW), api: calledAt(NOW) };
    expect(decideReplicas(input(functions, activity, { queued }))).toEqual([
      { name: 'worker', from: 0, to: 1, reason: 'queue' },
      { name: 'api', from: 0, to: 1, reason: 'request' },
    ]);
  });

  it('gives idle-timeout, not queue, once the queued function has been idle past its timeout', () => {
    const queued = (): boolean => true;
    expect(
      decideReplicas(
        input([fn('worker', { requested: 1 })], { worker: calledAt(NOW - 10 * MINUTE) }, { queued }),
      ),
    ).toEqual([{ name: 'worker', from: 1, to: 0, reason: 'idle-timeout' }]);
  });

  it('prefers a later schedule wake-up over queue activity as the reason', () => {
    // Woken at 11:59 UTC by its schedule; its queue was last active at 11:58.
    const schedule = { timeZoneId: 'UTC', wakeUp: [{ hour: 11, minute: 59 }], scaleDownTimeout: [] };
    const functions = [fn('report', { schedule })];
    const decisions = decideReplicas(
      input(functions, { report: calledAt(NOW - 2 * MINUTE) }, { queued: () => true }),
    );
    expect(decisions).toEqual([{ name: 'report', from: 0, to: 1, reason: 'schedule' }]);
  });

  it('gives dependant to a dependency woken because the queued function depends on it', () => {
    const functions = [fn('db'), fn('worker', { dependsOn: ['db'] })];
    const decisions = decideReplicas(
      input(functions, { worker: calledAt(NOW) }, { queued: (name) => name === 'worker' }),
    );
    expect(decisions).toEqual([{ name: 'db', from: 0, to: 1, reason: 'dependant' }]);
  });
});
