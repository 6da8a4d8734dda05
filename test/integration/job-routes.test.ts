import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeCore, type Core } from '../../src/compose-core.js';
import { readConfig } from '../../src/config/read-config.js';
import { systemClock } from '../../src/core/clock.js';
import { SingleNodeLeadership } from '../../src/core/leadership.js';
import { JOB_DEFAULTS, type JobConfiguration } from '../../src/core/job-spec.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';
import { ScriptedRunner } from '../helpers/scripted-job-runner.js';
import { waitUntil } from '../helpers/wait-until.js';

function jobConfig(name: string, overrides: Partial<JobConfiguration> = {}): JobConfiguration {
  return {
    name,
    image: 'registry.local/batch:1',
    imagesWhitelist: ['registry.local/*'],
    resources: { requests: { cpu: '100m' }, limits: { cpu: '500m' } },
    dependsOn: [],
    environments: [],
    ...JOB_DEFAULTS,
    schedules: [{ id: 'abcd1234', schedule: '0 3 * * *', request: { args: ['nightly'] } }],
    ...overrides,
  };
}

/** The job routes through composeCore's app (both listeners), the real embedded store and a scripted runner. */
describe('job routes', () => {
  let store: EmbeddedStateStore;
  let core: Core;
  let runner: ScriptedRunner;
  let orchestrator: MemoryOrchestrator;
  let publicServer: RunningServer;
  let internalServer: RunningServer;

  beforeAll(async () => {
    const config = readConfig({});
    if (!config.ok) throw new Error(config.errors.join('\n'));
    store = await EmbeddedStateStore.open({ ephemeral: true });
    orchestrator = new MemoryOrchestrator({ functions: [] });
    runner = new ScriptedRunner();
    core = composeCore({
      orchestrator,
      store,
      leadership: new SingleNodeLeadership('test'),
      config: config.config,
      logger: recordingLogger(),
      clock: systemClock,
      isReady: () => true,
      jobs: {
        runner,
        configurations: [jobConfig('public-job', { visibility: 'Public' }), jobConfig('private-job')],
      },
    });
    core.jobs?.worker.start();
    publicServer = await startServer(core.app.handle, { host: '127.0.0.1', port: 0 });
    internalServer = await startServer(core.app.handleInternal, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await Promise.all([publicServer.close(0), internalServer.close(0)]);
    await core.jobs?.worker.close();
    await core.app.close();
    await store.close();
  });

  const call = async (base: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text === '' ? undefined : (JSON.parse(text) as unknown),
      allow: res.headers.get('allow'),
    };
  };

  it('queues a run (202 {"Id"}) and lists it with SlimFaas fields, names case-insensitive', async () => {
    const posted = await call(publicServer.url, 'POST', '/job/Public-Job', { Args: ['1'] });
    expect(posted.status).toBe(202);
    const id = (posted.body as { Id: string }).Id;
    await waitUntil(() => runner.started.length === 1);
    const listed = await call(publicServer.url, 'GET', '/job/public-job');
    expect(listed.body).toEqual([
      {
        Name: expect.stringMatching(/^public-job-slimfaas-job-[a-z0-9]{8}$/) as unknown,
        Status: 'Running',
        Id: id,
        PositionInQueue: -1,
        InQueueTimestamp: expect.any(Number) as unknown,
        StartTimestamp: expect.any(Number) as unknown,
      },
    ]);
    const [row] = listed.body as { InQueueTimestamp: number }[];
    // .NET ticks: 100 ns since 0001-01-01.
    expect(
      Math.abs((row?.InQueueTimestamp ?? 0) - (Date.now() * 10_000 + 621_355_968_000_000_000)),
    ).toBeLessThan(600_000_000);
    runner.finish(runner.started[0]?.runName ?? '', 'succeeded');
    await waitUntil(
      async () => ((await call(publicServer.url, 'GET', '/job/public-job')).body as unknown[]).length === 0,
    );
  });

  it('hides private jobs from external callers: POST 400, GET and DELETE 404; internal callers may', async () => {
    expect(await call(publicServer.url, 'POST', '/job/private-job', {})).toMatchObject({
      status: 400,
      body: { error: 'visibility_private' },
    });
    expect((await call(publicServer.url, 'GET', '/job/private-job')).status).toBe(404);
    expect((await call(publicServer.url, 'DELETE', '/job/private-job/x')).status).toBe(404);
    const posted = await call(internalServer.url, 'POST', '/job/private-job', { Args: ['in'] });
    expect(posted.status).toBe(202);
    const id = (posted.body as { Id: string }).Id;
    expect((await call(internalServer.url, 'GET', '/job/private-job')).status).toBe(200);
    expect((await call(internalServer.url, 'DELETE', `/job/private-job/${id}`)).status).toBe(200);
  });

  it('answers bad input clearly: name pattern, unknown job, bad JSON, unknown field, resources, methods', async () => {
    expect(await call(publicServer.url, 'POST', '/job/ab', {})).toMatchObject({
      status: 400,
      body: { error: 'invalid_job_name' },
    });
    expect(await call(publicServer.url, 'GET', '/job/unknown-job')).toMatchObject({
      status: 404,
      body: { error: 'job_not_found' },
    });
    expect(await call(publicServer.url, 'POST', '/job/public-job', '{')).toMatchObject({
      status: 400,
      body: { error: 'bad_request' },
    });
    expect(await call(publicServer.url, 'POST', '/job/public-job', '')).toMatchObject({ status: 400 });
    expect(await call(publicServer.url, 'POST', '/job/public-job', { Args: 'x' })).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('Args') as unknown },
    });
    expect(
      await call(publicServer.url, 'POST', '/job/public-job', { Resources: { Limits: { cpu: '2' } } }),
    ).toMatchObject({
      status: 400,
      body: { message: 'Resources.Limits.cpu 2 is above the configured 500m' },
    });
    expect(await call(publicServer.url, 'PUT', '/job/public-job')).toMatchObject({
      status: 405,
      allow: 'GET, POST',
    });
    expect(await call(publicServer.url, 'DELETE', '/job/public-job/nope')).toMatchObject({
      status: 404,
      body: { error: 'element_not_found' },
    });
  });

  it('creates, lists and deletes API schedules; refuses bad cron and private jobs from outside', async () => {
    const created = await call(publicServer.url, 'POST', '/job-schedules/public-job', {
      Schedule: '*/5 * * * *',
      Args: ['a'],
    });
    expect(created.status).toBe(201);
    const id = (created.body as { Id: string }).Id;
    expect((await call(publicServer.url, 'GET', '/job-schedules/public-job')).body).toEqual([
      { Id: id, Schedule: '*/5 * * * *', Args: ['a'] },
    ]);
    expect(
      await call(publicServer.url, 'POST', '/job-schedules/public-job', { Schedule: '* * *' }),
    ).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('5-field') as unknown },
    });
    expect(
      await call(publicServer.url, 'POST', '/job-schedules/public-job', {
        Schedule: '* * * * *',
        Image: 'evil',
      }),
    ).toMatchObject({
      status: 400,
      body: { error: 'image_not_allowed' },
    });
    expect(
      (await call(publicServer.url, 'POST', '/job-schedules/private-job', { Schedule: '* * * * *' })).status,
    ).toBe(400);
    expect((await call(publicServer.url, 'DELETE', `/job-schedules/public-job/${id}`)).status).toBe(204);
    expect((await call(publicServer.url, 'DELETE', `/job-schedules/public-job/${id}`)).status).toBe(404);
  });

  it('reports every configuration as JobConfigurationStatus on /jobs/status and /status-jobs', async () => {
    const status = await call(publicServer.url, 'GET', '/jobs/status');
    expect(status.status).toBe(200);
    expect((await call(publicServer.url, 'GET', '/status-jobs')).body).toEqual(status.body);
    const [first] = status.body as Record<string, unknown>[];
    expect(first).toEqual({
      Name: 'public-job',
      Visibility: 'Public',
      Image: 'registry.local/batch:1',
      ImagesWhitelist: ['registry.local/*'],
      NumberParallelJob: 1,
      Resources: { Requests: { cpu: '100m' }, Limits: { cpu: '500m' } },
      DependsOn: [],
      Schedules: [
        {
          Id: 'abcd1234',
          Schedule: '0 3 * * *',
          Image: 'registry.local/batch:1',
          NextExecutionTimestamp: expect.any(Number) as unknown,
          Resources: null,
          DependsOn: null,
        },
      ],
      RunningJobs: [],
    });
    const next =
      ((first?.Schedules as { NextExecutionTimestamp: number }[])[0]?.NextExecutionTimestamp ?? 0) * 1000;
    expect(new Date(next).getUTCHours()).toBe(3);
    expect(next).toBeGreaterThan(Date.now());
  });
});
