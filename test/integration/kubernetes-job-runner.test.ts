import { BatchV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SlimFaasError } from '../../src/core/errors.js';
import type { JobRunSpec, JobRunState } from '../../src/core/job-runner.js';
import {
  createKubernetesJobRunner,
  type KubernetesJobRunner,
} from '../../src/orchestrators/kubernetes/index.js';
import { recordingLogger, type LogEntry } from '../contracts/orchestrator-contract.js';
import { FAKE_JOB_ENV, FakeKubeApi, type FakeKubeApiOptions } from '../helpers/fake-kube-api.js';
import { waitUntil } from '../helpers/wait-until.js';

const cleanups: (() => Promise<void> | void)[] = [];
/** Announcements that `runs()` did not reflect when the listener ran (checked after each test). */
const unreflected: string[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(unreflected.splice(0)).toEqual([]);
});

interface Harness {
  readonly api: FakeKubeApi;
  readonly runner: KubernetesJobRunner;
  readonly clock: ManualClock;
  readonly logs: LogEntry[];
  /** Every state announced to `subscribe`, oldest first. */
  readonly announced: JobRunState[];
  phases(runName: string): string[];
}

async function start(options: FakeKubeApiOptions = {}): Promise<Harness> {
  const api = await FakeKubeApi.start({ namespace: 'jobs-ns', ...options });
  cleanups.push(() => api.close());
  return startRunner(api);
}

async function startRunner(api: FakeKubeApi): Promise<Harness> {
  const clock = new ManualClock(Date.UTC(2026, 10, 26, 12, 0, 0));
  const logs: LogEntry[] = [];
  const runner = createKubernetesJobRunner({
    kubeConfig: api.kubeConfig(),
    namespace: api.namespace,
    logger: recordingLogger(logs),
    clock,
    watchBackoff: { initialMs: 20, maxMs: 100 },
  });
  cleanups.push(() => runner.close());
  const announced: JobRunState[] = [];
  runner.subscribe((state) => {
    announced.push(state);
    // The contract: announced after runs() reflects it (a run deleted behind our back has left runs()).
    const listed = runner.runs().get(state.runName);
    const reflected = state.reason === 'deleted' ? listed === undefined : listed?.phase === state.phase;
    if (!reflected) unreflected.push(`${state.runName} ${state.phase}`);
  });
  await runner.start();
  const phases = (runName: string): string[] =>
    announced.filter((s) => s.runName === runName).map((s) => s.phase);
  return { api, runner, clock, logs, announced, phases };
}

/** Waits until the run is in `wanted` and returns its state. */
async function phase(h: Harness, run: JobRunSpec, wanted: JobRunState['phase']): Promise<JobRunState> {
  const state = await waitUntil(
    () => {
      const current = h.runner.runs().get(run.runName);
      return current?.phase === wanted ? current : undefined;
    },
    { message: `${run.runName} ${wanted}` },
  );
  return state;
}

let counter = 0;
function spec(config: string, overrides: Partial<JobRunSpec> = {}): JobRunSpec {
  counter++;
  return {
    configName: config,
    runName: `${config}-slimfaas-job-${counter.toString(36).padStart(8, 'x')}`,
    elementId: `element-${counter}`,
    image: 'example/fibonacci-job:1.0',
    args: ['42', '43'],
    environment: { MODE: 'fast' },
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    backoffLimit: 1,
    ttlSecondsAfterFinished: 60,
    restartPolicy: 'Never',
    createdAtMs: Date.UTC(2026, 10, 26, 11, 59, 0),
    ...overrides,
  };
}

const posts = (api: FakeKubeApi): number =>
  api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/jobs')).length;
const lists = (api: FakeKubeApi, resource: 'jobs' | 'pods'): number =>
  api.requests.filter(
    (r) => r.path.endsWith(`/${resource}`) && r.method === 'GET' && r.query.get('watch') === null,
  ).length;

describe('KubernetesJobRunner creates batch/v1 Jobs', () => {
  it('creates the Job with its name, labels, container, backoffLimit, ttl and restartPolicy', async () => {
    const h = await start();
    const run = spec('fibonacci');
    await h.runner.run(run);

    const job = h.api.store.get('jobs', run.runName);
    expect(job?.metadata.namespace).toBe('jobs-ns');
    const labels = {
      'slimfaas-job-name': run.runName,
      'slimfaas-job-element-id': run.elementId,
      // .NET UTC ticks, as SlimFaas writes them: 11:59 and the runner's clock (12:00).
      'slimfaas-in-queue-timestamp': '639312911400000000',
      'slimfaas-job-start-timestamp': '639312912000000000',
    };
    expect(job?.metadata.labels).toEqual(labels);
    expect(job?.spec).toMatchObject({
      backoffLimit: 1,
      ttlSecondsAfterFinished: 60,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'fibonacci',
              image: 'example/fibonacci-job:1.0',
              args: ['42', '43'],
              env: [{ name: 'MODE', value: 'fast' }],
              resources: run.resources,
            },
          ],
        },
      },
    });
    expect(h.runner.runs().get(run.runName)).toMatchObject({
      configName: 'fibonacci',
      elementId: run.elementId,
    });
  });

  it('defaults the limits to the requests, as SlimFaas does', async () => {
    const h = await start();
    const run = spec('limits', { resources: { requests: { cpu: '50m' } }, restartPolicy: 'OnFailure' });
    await h.runner.run(run);
    const template = h.api.store.get('jobs', run.runName)?.spec?.['template'] as {
      spec: { restartPolicy: string; containers: { resources: unknown }[] };
    };
    expect(template.spec.restartPolicy).toBe('OnFailure');
    expect(template.spec.containers[0]?.resources).toEqual({
      requests: { cpu: '50m' },
      limits: { cpu: '50m' },
    });
  });

  it('follows a successful run through the watch: pending or running, then succeeded; records the pod IP', async () => {
    const h = await start({ jobs: { runMs: 300 } });
    const run = spec('ok');
    await h.runner.run(run);
    expect(h.runner.runs().get(run.runName)?.phase).toMatch(/pending|running/);

    const running = await waitUntil(
      () => {
        const current = h.runner.runs().get(run.runName);
        return current?.phase === 'running' && current.ips.length === 1 ? current : undefined;
      },
      { message: 'running, with its pod IP' },
    );
    const [pod] = h.api.pods(run.runName);
    expect(running.ips).toEqual([pod?.status?.['podIP']]);
    expect(running.ips[0]).toMatch(/^127\.0\.1\.\d+$/);

    const done = await phase(h, run, 'succeeded');
    expect(done).toMatchObject({ attempts: 1, ips: [] });
    expect(done.startedAtMs).toBeTypeOf('number');
    expect(done.finishedAtMs).toBeGreaterThanOrEqual(done.startedAtMs ?? Infinity);
    expect(done.reason).toBeUndefined();
    expect(h.phases(run.runName).at(-1)).toBe('succeeded');
    expect(h.phases(run.runName)).toContain('running');
    expect(h.phases(run.runName).filter((p) => p === 'succeeded')).toHaveLength(1);
  });

  it('retries a failing attempt up to backoffLimit, then reports failed with the condition', async () => {
    const h = await start();
    const run = spec('bad', { backoffLimit: 2, environment: { [FAKE_JOB_ENV.exitCodes]: '1' } });
    await h.runner.run(run);

    const failed = await phase(h, run, 'failed');
    expect(failed.attempts).toBe(3);
    expect(failed.reason).toContain('BackoffLimitExceeded');
    expect(h.api.pods(run.runName)).toHaveLength(3);
    expect(h.phases(run.runName).filter((p) => p === 'failed')).toHaveLength(1);
  });

  it('reports success when a retry succeeds', async () => {
    const h = await start();
    const run = spec('flaky', { backoffLimit: 1, environment: { [FAKE_JOB_ENV.exitCodes]: '1,0' } });
    await h.runner.run(run);
    const done = await phase(h, run, 'succeeded');
    expect(done.attempts).toBe(2);
    expect(h.phases(run.runName)).not.toContain('failed');
  });

  it('lets Kubernetes remove a finished Job after its TTL, and forgets it', async () => {
    const h = await start({ jobs: { ttlSecondMs: 10 } });
    const run = spec('ttl', { ttlSecondsAfterFinished: 5 });
    await h.runner.run(run);
    await waitUntil(() => h.phases(run.runName).includes('succeeded'));
    await waitUntil(() => !h.runner.runs().has(run.runName), { message: 'removed after the TTL' });
    expect(h.api.pods(run.runName)).toEqual([]);
    expect(h.phases(run.runName).at(-1)).toBe('succeeded');
  });
});

describe('KubernetesJobRunner is idempotent and refuses bad input', () => {
  it('creates one Job for repeated and concurrent runs of the same name', async () => {
    const h = await start();
    const run = spec('twice', { environment: { [FAKE_JOB_ENV.runMs]: 'never' } });
    await Promise.all([h.runner.run(run), h.runner.run(run)]);
    await h.runner.run(run);
    expect(posts(h.api)).toBe(1);
    expect(h.api.store.list('jobs')).toHaveLength(1);
  });

  it('treats 409 AlreadyExists for the same element as success (a restarted SlimFaas), and sees existing Jobs', async () => {
    const api = await FakeKubeApi.start({ namespace: 'jobs-ns' });
    cleanups.push(() => api.close());
    const first = await startRunner(api);
    const run = spec('again', { environment: { [FAKE_JOB_ENV.runMs]: 'never' } });
    await first.runner.run(run);
    await first.runner.close();

    const second = await startRunner(api);
    expect(second.runner.runs().get(run.runName)?.elementId).toBe(run.elementId);
    await second.runner.run(run);
    expect(posts(api)).toBe(1);

    // A runner whose watch has not delivered the Job (here: not started) gets 409 and reads the Job.
    const late = createKubernetesJobRunner({
      kubeConfig: api.kubeConfig(),
      namespace: api.namespace,
      logger: recordingLogger(),
    });
    await late.run(run);
    expect(posts(api)).toBe(2);
    expect(api.requests.some((r) => r.method === 'GET' && r.path.endsWith(`/jobs/${run.runName}`))).toBe(
      true,
    );
    expect(late.runs().get(run.runName)?.elementId).toBe(run.elementId);
    expect(api.store.list('jobs')).toHaveLength(1);

    const collision = await createKubernetesJobRunner({
      kubeConfig: api.kubeConfig(),
      namespace: api.namespace,
      logger: recordingLogger(),
    })
      .run({ ...run, elementId: 'someone-else' })
      .catch((e: unknown) => e);
    expect(collision).toBeInstanceOf(SlimFaasError);
    expect((collision as SlimFaasError).code).toBe('bad_request');
  });

  it('refuses an invalid run name or element id before any request, and deletes nothing for one', async () => {
    const h = await start();
    const before = h.api.requests.length;
    for (const bad of [
      spec('under_score'),
      spec('x', { runName: 'Upper-slimfaas-job-aaaaaaaa' }),
      spec('x', { runName: `${'a'.repeat(60)}-slimfaas-job-aaaaaaaa` }),
      spec('x', { runName: '../../api/v1/namespaces/kube-system/secrets' }),
      spec('ok', { elementId: 'not a label value' }),
      spec('ok', { backoffLimit: -1 }),
    ]) {
      const error = await h.runner.run(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SlimFaasError);
      expect((error as SlimFaasError).code).toBe('bad_request');
    }
    expect(await h.runner.delete('../secrets')).toBe('not-found');
    expect(await h.runner.delete('Upper')).toBe('not-found');
    expect(h.api.requests.length).toBe(before);
  });

  it('translates API failures: 422 → bad_request, 500 → orchestrator_unavailable', async () => {
    const h = await start();
    h.api.failNext({ method: 'POST', pathIncludes: '/jobs', status: 422 });
    const invalid = await h.runner.run(spec('quota')).catch((e: unknown) => e);
    expect((invalid as SlimFaasError).code).toBe('bad_request');
    h.api.failNext({ method: 'POST', pathIncludes: '/jobs', status: 500 });
    const down = await h.runner.run(spec('down')).catch((e: unknown) => e);
    expect((down as SlimFaasError).code).toBe('orchestrator_unavailable');
    expect(h.runner.runs().size).toBe(0);
  });
});

describe('KubernetesJobRunner deletes and watches', () => {
  it('deletes a running Job with background propagation, so its pods go too', async () => {
    const h = await start();
    const run = spec('stop', { environment: { [FAKE_JOB_ENV.runMs]: 'never' } });
    await h.runner.run(run);
    await waitUntil(() => h.runner.runs().get(run.runName)?.phase === 'running');

    expect(await h.runner.delete(run.runName)).toBe('deleted');
    expect(h.runner.runs().has(run.runName)).toBe(false);
    const request = h.api.requests.find((r) => r.method === 'DELETE');
    expect(request?.query.get('propagationPolicy')).toBe('Background');
    await waitUntil(() => h.api.pods(run.runName).length === 0, { message: 'pods collected' });
    expect(h.api.store.get('jobs', run.runName)).toBeUndefined();
    expect(await h.runner.delete(run.runName)).toBe('not-found');
    expect(h.phases(run.runName)).not.toContain('failed');
  });

  it('resumes a dropped watch from its resourceVersion and sees a change made while disconnected', async () => {
    const h = await start();
    const run = spec('drop', { environment: { [FAKE_JOB_ENV.runMs]: 'never' } });
    await h.runner.run(run);
    await waitUntil(() => h.runner.runs().get(run.runName)?.phase === 'running');
    await waitUntil(() => h.api.openWatches === 2);

    const disarm = h.api.failNext({
      method: 'GET',
      pathIncludes: '/jobs-ns/jobs',
      status: 503,
      times: 1_000,
    });
    h.api.dropWatches();
    await waitUntil(() => h.api.requests.some((r) => r.status === 503), { message: 'a failed reconnect' });
    expect(h.api.exitJob(run.runName, 0)).toBe(true);
    expect(h.runner.runs().get(run.runName)?.phase).toBe('running');
    disarm();

    await waitUntil(() => h.runner.runs().get(run.runName)?.phase === 'succeeded', {
      message: 'success seen',
    });
    expect(lists(h.api, 'jobs')).toBe(1);
    const resumed = h.api.requests.filter(
      (r) => r.path.endsWith('/jobs') && r.query.get('watch') === 'true' && r.status === 200,
    );
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    expect(resumed.every((r) => Number(r.query.get('resourceVersion')) > 0)).toBe(true);
    expect(resumed.every((r) => r.query.get('labelSelector') === 'slimfaas-job-name')).toBe(true);
  });

  it.each(['event', 'http'] as const)(
    'relists after 410 Gone (%s); a Job deleted meanwhile is announced failed',
    async (goneAs) => {
      const h = await start({ goneAs });
      const failing = spec('gone-a', { backoffLimit: 0, environment: { [FAKE_JOB_ENV.runMs]: 'never' } });
      const removed = spec('gone-b', { environment: { [FAKE_JOB_ENV.runMs]: 'never' } });
      await h.runner.run(failing);
      await h.runner.run(removed);
      await waitUntil(
        () => [...h.runner.runs().values()].every((s) => s.phase === 'running') && h.runner.runs().size === 2,
      );
      await waitUntil(() => h.api.openWatches === 2);

      const disarm = h.api.failNext({
        method: 'GET',
        pathIncludes: '/jobs-ns/jobs',
        status: 503,
        times: 1_000,
      });
      h.api.dropWatches();
      await waitUntil(() => h.api.requests.some((r) => r.status === 503), { message: 'a failed reconnect' });
      h.api.exitJob(failing.runName, 1);
      const someoneElse = h.api.kubeConfig().makeApiClient(BatchV1Api);
      await someoneElse.deleteNamespacedJob({
        name: removed.runName,
        namespace: h.api.namespace,
        propagationPolicy: 'Background',
      });
      h.api.compact();
      disarm();

      await waitUntil(() => h.runner.runs().get(failing.runName)?.phase === 'failed', {
        message: 'failure seen',
      });
      await waitUntil(() => !h.runner.runs().has(removed.runName), { message: 'deleted job gone' });
      expect(lists(h.api, 'jobs')).toBe(2);
      expect(h.announced.filter((s) => s.runName === removed.runName).at(-1)).toMatchObject({
        phase: 'failed',
        reason: 'deleted',
      });
      expect(h.logs.some((l) => l.msg?.includes('410 Gone'))).toBe(true);
    },
  );

  it('start() gives up with orchestrator_unavailable when the Jobs cannot be listed', async () => {
    const api = await FakeKubeApi.start({
      namespace: 'jobs-ns',
      faults: [{ method: 'GET', pathIncludes: '/jobs', status: 403, times: 1_000 }],
    });
    cleanups.push(() => api.close());
    const runner = createKubernetesJobRunner({
      kubeConfig: api.kubeConfig(),
      namespace: api.namespace,
      logger: recordingLogger(),
      watchBackoff: { initialMs: 20, maxMs: 50 },
      initialSyncTimeoutMs: 300,
    });
    cleanups.push(() => runner.close());
    const error = await runner.start().catch((e: unknown) => e);
    expect((error as SlimFaasError).code).toBe('orchestrator_unavailable');
  });
});
