import { describe, expect, it } from 'vitest';
import type { FunctionActivity } from '../../../src/core/activity.js';
import { awakeStatus } from '../../../src/core/awake-status.js';
import type { FunctionSpec } from '../../../src/core/function-spec.js';
import type { FunctionState } from '../../../src/core/topology.js';
import { testFunctionSpec } from '../../helpers/test-function-spec.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

function fn(spec: FunctionSpec, requested: number): FunctionState {
  const replicas = Array.from({ length: requested }, (_, i) => ({
    id: `${spec.name}-${i}`,
    origin: 'http://127.0.0.1:1',
    ip: '127.0.0.1',
    ready: true,
  }));
  return { spec, podType: 'Process', requested, replicas };
}

function status(
  functions: FunctionState[],
  activity: Record<string, FunctionActivity>,
  queued: string[] = [],
) {
  return awakeStatus({
    functions,
    activity: (name) => activity[name] ?? { lastActivityMs: 0, inFlight: 0 },
    nowMs: NOW,
    queued: (name) => queued.includes(name),
  });
}

describe('awakeStatus', () => {
  it('an asleep function has no reason and no pending scale-down', () => {
    const result = status([fn(testFunctionSpec('a'), 0)], {});
    expect(result.get('a')).toEqual({ reason: null, lastActivityMs: 0, inFlight: 0, scaleDownAtMs: null });
  });

  it('a recent request keeps it awake until last activity + the timeout', () => {
    const spec = testFunctionSpec('a', { timeoutSecondBeforeSetReplicasMin: 60 });
    const result = status([fn(spec, 1)], { a: { lastActivityMs: NOW - 10_000, inFlight: 0 } });
    expect(result.get('a')).toEqual({
      reason: 'request',
      lastActivityMs: NOW - 10_000,
      inFlight: 0,
      scaleDownAtMs: NOW + 50_000,
    });
  });

  it('a request in flight means busy: no countdown', () => {
    const result = status([fn(testFunctionSpec('a'), 1)], { a: { lastActivityMs: NOW - 1000, inFlight: 2 } });
    expect(result.get('a')).toMatchObject({ reason: 'request', inFlight: 2, scaleDownAtMs: null });
  });

  it('queued work wins over the request reason and stops the countdown', () => {
    const result = status(
      [fn(testFunctionSpec('a'), 1)],
      { a: { lastActivityMs: NOW - 1000, inFlight: 0 } },
      ['a'],
    );
    expect(result.get('a')).toMatchObject({ reason: 'queue', scaleDownAtMs: null });
  });

  it('a dependency is awake because of its active dependant, with the dependant’s countdown', () => {
    const db = testFunctionSpec('db', { timeoutSecondBeforeSetReplicasMin: 100 });
    const app = testFunctionSpec('app', { dependsOn: ['db'], timeoutSecondBeforeSetReplicasMin: 100 });
    const result = status([fn(db, 1), fn(app, 1)], { app: { lastActivityMs: NOW - 30_000, inFlight: 0 } });
    expect(result.get('db')).toMatchObject({
      reason: 'dependency',
      lastActivityMs: 0,
      scaleDownAtMs: NOW + 70_000,
    });
    expect(result.get('app')).toMatchObject({ reason: 'request', scaleDownAtMs: NOW + 70_000 });
  });

  it('an idle function kept up by ReplicasMin says so and never counts down', () => {
    const spec = testFunctionSpec('a', { replicasMin: 1, timeoutSecondBeforeSetReplicasMin: 10 });
    const result = status([fn(spec, 1)], { a: { lastActivityMs: NOW - 60_000, inFlight: 0 } });
    expect(result.get('a')).toMatchObject({ reason: 'min-replicas', scaleDownAtMs: null });
  });

  it('a schedule wake-up is reported as the reason', () => {
    const spec = testFunctionSpec('a', {
      timeoutSecondBeforeSetReplicasMin: 3600,
      schedule: { timeZoneId: 'UTC', wakeUp: [{ hour: 11, minute: 30 }], scaleDownTimeout: [] },
    });
    const result = status([fn(spec, 1)], {});
    expect(result.get('a')).toMatchObject({
      reason: 'schedule',
      scaleDownAtMs: Date.UTC(2026, 5, 1, 12, 30),
    });
  });
});
