import { describe, expect, it } from 'vitest';
import { parseJobsConfiguration } from '../../../src/config/jobs-configuration.js';
import { loadManifest } from '../../../src/config/manifest.js';
import { readConfig } from '../../../src/config/read-config.js';
import { expectErrors, expectOk, manifestWriter } from './manifest-files.js';

function parse(json: unknown) {
  const result = parseJobsConfiguration(JSON.stringify(json));
  if (!result.ok) throw new Error(result.expected);
  return result.value;
}

describe('SLIMFAAS_JOBS_CONFIGURATION', () => {
  it('applies SlimFaas defaults (Private, 1 parallel job, BackoffLimit 1, TTL 60, Never) and lower-cases names', () => {
    const { configurations, problems } = parse({ Configurations: { Fibonacci: { Image: 'fib:1' } } });
    expect(problems).toEqual([]);
    expect(configurations).toEqual([
      {
        name: 'fibonacci',
        image: 'fib:1',
        imagesWhitelist: [],
        resources: { requests: {}, limits: {} },
        dependsOn: [],
        environments: [],
        backoffLimit: 1,
        visibility: 'Private',
        numberParallelJob: 1,
        ttlSecondsAfterFinished: 60,
        restartPolicy: 'Never',
        schedules: [],
      },
    ]);
  });

  it('reads every field, environment references and static schedules with stable ids', () => {
    const json = {
      Configurations: {
        batch: {
          Image: 'batch:1',
          ImagesWhitelist: ['batch:*'],
          Resources: { Requests: { cpu: '100m' }, Limits: { cpu: '1', memory: '512Mi' } },
          DependsOn: ['db'],
          Environments: [
            { Name: 'MODE', Value: 'fast' },
            { Name: 'TOKEN', SecretRef: { Name: 'secrets', Key: 'token' } },
          ],
          BackoffLimit: 3,
          Visibility: 'Public',
          NumberParallelJob: 2,
          TtlSecondsAfterFinished: 10,
          RestartPolicy: 'OnFailure',
        },
      },
      Schedules: { Batch: [{ Schedule: '*/5 * * * *', Args: ['nightly'] }] },
    };
    const first = parse(json).configurations[0];
    expect(first).toMatchObject({
      imagesWhitelist: ['batch:*'],
      resources: { requests: { cpu: '100m' }, limits: { cpu: '1', memory: '512Mi' } },
      environments: [
        { name: 'MODE', value: 'fast' },
        { name: 'TOKEN', secretRef: { name: 'secrets', key: 'token' } },
      ],
      backoffLimit: 3,
      visibility: 'Public',
      numberParallelJob: 2,
      restartPolicy: 'OnFailure',
      schedules: [{ schedule: '*/5 * * * *', request: { args: ['nightly'] } }],
    });
    expect(first?.schedules[0]?.id).toMatch(/^[0-9a-f]{8}$/);
    expect(parse(json).configurations[0]?.schedules[0]?.id).toBe(first?.schedules[0]?.id);
  });

  it('reports an invalid job by name and field and still loads the others', () => {
    const { configurations, problems } = parse({
      Configurations: {
        good: { Image: 'a' },
        bad: { NumberParallelJob: 0, Visibility: 'Hidden' },
        x: {},
        cron: { Image: 'c' },
      },
      Schedules: { cron: [{ Schedule: '* * *', Args: [] }], ghost: [] },
    });
    expect(configurations.map((c) => c.name)).toEqual(['good']);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^job "bad": /);
    expect(problems[0]).toContain('NumberParallelJob: Too small');
    expect(problems[0]).toContain('Visibility: Invalid option');
    expect(problems[1]).toMatch(/^job "x": name: a job name must match/);
    expect(problems[2]).toMatch(/^job "cron": Schedules\[0\]: Schedule: expected a 5-field cron expression/);
    expect(problems[3]).toMatch(/^Schedules.ghost: no job configuration named "ghost"/);
  });

  it('refuses text that is not the expected JSON object, naming the variable', () => {
    const result = readConfig({ SLIMFAAS_JOBS_CONFIGURATION: '{"Configurations": [' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatch(/^SLIMFAAS_JOBS_CONFIGURATION: expected JSON/);
    expect(parseJobsConfiguration('[]').ok).toBe(false);
    expect(parseJobsConfiguration('').ok).toBe(true);
  });
});

describe('manifest jobs', () => {
  const write = manifestWriter();

  it('reads command, environment, annotations and the job fields', () => {
    const file = write(
      'jobs.yaml',
      `
name: demo
jobs:
  Batch:
    command: [node, batch.mjs, --]
    environment: { MODE: fast }
    annotations:
      SlimFaas/Job: 'true'
      SlimFaas/DefaultVisibility: public
      SlimFaas/NumberParallelJob: '2'
      SlimFaas/DependsOn: 'db, cache'
      SlimFaas/JobImagesWhitelist: 'a:*,b:1'
      SlimFaas/Schedules: '[{"Schedule":"*/2 * * * *","Args":["39"]}]'
    ttlSecondsAfterFinished: 30
    backoffLimit: 2
    restartPolicy: onFailure
    resources: { requests: { cpu: 100m }, limits: { cpu: 200m } }
`,
    );
    const { manifest } = expectOk(loadManifest([file]));
    expect(manifest.jobs).toHaveLength(1);
    const job = manifest.jobs[0];
    expect(job).toMatchObject({
      name: 'batch',
      command: ['node', 'batch.mjs', '--'],
      environment: { MODE: 'fast' },
    });
    expect(job?.config).toMatchObject({
      visibility: 'Public',
      numberParallelJob: 2,
      dependsOn: ['db', 'cache'],
      imagesWhitelist: ['a:*', 'b:1'],
      ttlSecondsAfterFinished: 30,
      backoffLimit: 2,
      restartPolicy: 'OnFailure',
      resources: { requests: { cpu: '100m' }, limits: { cpu: '200m' } },
      schedules: [{ schedule: '*/2 * * * *', request: { args: ['39'] } }],
    });
  });

  it('reports bad job entries by path, and the keys SlimFaas rejects', () => {
    const file = write(
      'bad-jobs.yaml',
      `
name: demo
jobs:
  ok:
    command: [node]
  a:
    command: [node]
  batch:
    command: node batch.mjs
    parallelism: 2
    annotations: { SlimFaas/NumberParallelJob: 'zero', SlimFaas/Schedules: 'not json' }
`,
    );
    const errors = expectErrors(loadManifest([file]));
    expect(errors.some((e) => e.startsWith('jobs.a: invalid job name'))).toBe(true);
    expect(errors.some((e) => e.startsWith('jobs.batch.parallelism: is no longer supported'))).toBe(true);
    expect(errors.some((e) => e.startsWith('jobs.batch.command: expected a non-empty list'))).toBe(true);
    expect(errors.some((e) => e.includes('SlimFaas/Schedules') && e.includes('expected a JSON array'))).toBe(
      true,
    );
  });
});
