import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ActivityTracker } from '../../src/core/activity.js';
import { ManualClock } from '../../src/core/clock.js';
import { JOB_DEFAULTS, type JobConfiguration, type QueuedJob } from '../../src/core/job-spec.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';
import { JobSchedules } from '../../src/workers/job-schedules.js';
import { JobWorker } from '../../src/workers/job-worker.js';
import { ScalerWorker } from '../../src/workers/scaler-worker.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';
import { testFunctionSpec } from '../helpers/test-function-spec.js';
import { ScriptedRunner } from '../helpers/scripted-job-runner.js';
import { waitUntil } from '../helpers/wait-until.js';

/**
 * The JobWorker against the real embedded store (SQLite on disk) and the MemoryOrchestrator, with a runner
 * that implements the JobRunner port in memory: the test decides when a run ends.
 */
function jobConfig(name: string, overrides: Partial<JobConfiguration> = {}): JobConfiguration {
  return {
    name,
    image: '',
    imagesWhitelist: [],
    resources: { requests: {}, limits: {} },
    dependsOn: [],
    environments: [],
    ...JOB_DEFAULTS,
    visibility: 'Public',
    schedules: [],
    ...overrides,
  };
}

function queued(configName: string, arg: string, nowMs: number, dependsOn: string[] = []): QueuedJob {
  return {
    configName,
    runName: `${configName}-slimfaas-job-${arg}`,
    image: '',
    args: [arg],
    environments: [],
    resources: { requests: {}, limits: {} },
    dependsOn,
    backoffLimit: 1,
    ttlSecondsAfterFinished: 60,
    restartPolicy: 'Never',
    enqueuedAtMs: nowMs,
  };
}

describe('JobWorker with the embedded store', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(
    configurations: JobConfiguration[],
    options: { directory?: string; autoReady?: boolean } = {},
  ) {
    const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'slimfaas-jobs-it-'));
    if (options.directory === undefined)
      cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    const store = await EmbeddedStateStore.open({ directory });
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const orchestrator = new MemoryOrchestrator({
      functions: [{ spec: testFunctionSpec('db') }],
      autoReady: options.autoReady ?? true,
    });
    await orchestrator.start();
    const activity = new ActivityTracker(clock);
    const logger = recordingLogger();
    const scaler = new ScalerWorker({
      orchestrator,
      activity,
      clock,
      logger,
      intervalMs: 50,
      scaledUpByDefaultWhenNeverCalled: false,
    });
    scaler.start();
    const runner = new ScriptedRunner();
    const worker = new JobWorker({
      store,
      runner,
      orchestrator,
      waker: scaler,
      activity,
      clock,
      logger,
      configurations,
      safetyIntervalMs: 50,
    });
    worker.start();
    const schedules = new JobSchedules({
      store,
      board: worker,
      clock,
      logger,
      configurations,
      intervalMs: 0,
    });
    const close = async () => {
      await schedules.close();
      await worker.close();
      scaler.close();
      await orchestrator.close();
      await store.close();
    };
    cleanups.push(close);
    return { store, clock, orchestrator, runner, worker, schedules, directory, close };
  }

  it('starts at most NumberParallelJob runs, FIFO, and completes the element when a run ends', async () => {
    const { runner, worker, clock } = await setup([jobConfig('batch', { numberParallelJob: 2 })]);
    for (const arg of ['a', 'b', 'c', 'd'])
      await worker.submit(queued('batch', arg, clock.now()), `id-${arg}`);
    expect(runner.started.map((s) => s.args[0])).toEqual(['a', 'b']);
    expect(worker.runs('batch').map((r) => `${r.elementId}:${r.status}`)).toEqual([
      'id-b:Running',
      'id-a:Running',
      'id-c:Queued',
      'id-d:Queued',
    ]);
    runner.finish('batch-slimfaas-job-b', 'failed');
    await waitUntil(() => runner.started.length === 3);
    expect(runner.started.map((s) => s.args[0])).toEqual(['a', 'b', 'c']);
    expect(runner.started[2]).toMatchObject({ elementId: 'id-c', configName: 'batch' });
    expect(worker.runs('batch').map((r) => r.elementId)).toEqual(['id-c', 'id-a', 'id-d']);
  });

  it('cancels a queued element and deletes a running one', async () => {
    const { runner, worker, clock, store } = await setup([jobConfig('batch')]);
    await worker.submit(queued('batch', 'a', clock.now()), 'id-a');
    await worker.submit(queued('batch', 'b', clock.now()), 'id-b');
    expect(await worker.cancel('batch', 'id-b')).toBe('cancelled');
    expect(await worker.cancel('batch', 'id-b')).toBe('not-found');
    expect(await worker.cancel('batch', 'id-a')).toBe('deleted');
    expect(runner.deleted).toEqual(['batch-slimfaas-job-a']);
    expect(await store.counts('job_batch')).toMatchObject({ ready: 0, inFlight: 0, retryPending: 0 });
    expect(runner.started.map((s) => s.args[0])).toEqual(['a']);
  });

  it('wakes DependsOn functions first and starts the job once one is ready', async () => {
    const { runner, worker, clock, orchestrator } = await setup([jobConfig('batch', { dependsOn: ['db'] })], {
      autoReady: false,
    });
    await worker.submit(queued('batch', 'a', clock.now(), ['db']), 'id-a');
    await waitUntil(() => orchestrator.functions().get('db')?.requested === 1, { message: 'db woken' });
    await worker.runPass();
    expect(runner.started).toEqual([]);
    orchestrator.setReady('db', 0, true);
    await waitUntil(() => runner.started.length === 1, { message: 'job started after db is ready' });
  });

  it('keeps queued elements across a restart and runs them in order', async () => {
    const first = await setup([jobConfig('batch')]);
    await first.worker.submit(queued('batch', 'a', first.clock.now()), 'id-a');
    await first.worker.submit(queued('batch', 'b', first.clock.now()), 'id-b');
    await first.close();
    const second = await setup([jobConfig('batch')], { directory: first.directory });
    await second.worker.runPass();
    expect(second.worker.runs('batch').map((r) => `${r.elementId}:${r.status}`)).toEqual([
      'id-a:Running',
      'id-b:Queued',
    ]);
    second.runner.finish('batch-slimfaas-job-a', 'succeeded');
    await waitUntil(() => second.runner.started.length === 2);
    expect(second.runner.started.map((s) => s.args[0])).toEqual(['a', 'b']);
  });

  it('fires a schedule at its cron time (injected clock): first sight records, a later occurrence submits once', async () => {
    const config = jobConfig('nightly', {
      visibility: 'Private',
      schedules: [{ id: 'static1', schedule: '*/2 * * * *', request: { args: ['from-cron'] } }],
    });
    const { runner, schedules, clock } = await setup([config]);
    await schedules.fire();
    expect(runner.started).toEqual([]);
    clock.advance(60_000); // 00:01:30: no occurrence since 00:00:30
    await schedules.fire();
    expect(runner.started).toEqual([]);
    clock.advance(60_000); // 00:02:30: the 00:02 occurrence fires, once
    await schedules.fire();
    await schedules.fire();
    await waitUntil(() => runner.started.length === 1);
    expect(runner.started[0]).toMatchObject({ configName: 'nightly', args: ['from-cron'] });
    clock.advance(10 * 60_000); // several occurrences missed: caught up once
    runner.finish(runner.started[0]?.runName ?? '', 'succeeded');
    await schedules.fire();
    await waitUntil(() => runner.started.length === 2);
    await schedules.fire();
    expect(runner.started).toHaveLength(2);
  });

  it('persists API schedules in the store and fires them like static ones', async () => {
    const { runner, schedules, clock } = await setup([jobConfig('batch', { numberParallelJob: 5 })]);
    await schedules.add('batch', { id: 'api1', schedule: '0 * * * *', request: { args: ['hourly'] } });
    expect(await schedules.list('batch')).toEqual([
      { id: 'api1', schedule: '0 * * * *', request: { args: ['hourly'] } },
    ]);
    await schedules.fire();
    clock.set(Date.UTC(2026, 0, 1, 1, 0, 5));
    await schedules.fire();
    await waitUntil(() => runner.started.length === 1);
    expect(runner.started[0]).toMatchObject({ args: ['hourly'] });
    expect(await schedules.remove('batch', 'api1')).toBe('deleted');
    expect(await schedules.remove('batch', 'api1')).toBe('not-found');
    expect(await schedules.list('batch')).toEqual([]);
  });
});
