import { describe, expect, it } from 'vitest';
import { latestOccurrenceMs, nextOccurrenceMs, parseCronExpression } from '../../../src/core/job-cron.js';
import { jobRunSpec, resolveJobRequest } from '../../../src/core/job-request.js';
import { parseCreateJob } from '../../../src/core/job-schema.js';
import {
  imageAllowed,
  jobRunName,
  newJobRunName,
  parseQuantity,
  type JobConfiguration,
} from '../../../src/core/job-spec.js';

const config: JobConfiguration = {
  name: 'batch',
  image: 'registry.local/batch:1',
  imagesWhitelist: ['registry.local/batch:*', 'mirror.local/*'],
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '1Gi' } },
  dependsOn: ['db'],
  environments: [
    { name: 'MODE', value: 'default' },
    { name: 'KEEP', value: 'yes' },
  ],
  backoffLimit: 2,
  visibility: 'Public',
  numberParallelJob: 1,
  ttlSecondsAfterFinished: 60,
  restartPolicy: 'Never',
  schedules: [],
};

function resolve(request: unknown, options: { internal?: boolean; config?: JobConfiguration } = {}) {
  const parsed = parseCreateJob(request);
  if (!parsed.ok) throw new Error(parsed.message);
  return resolveJobRequest({
    config: options.config ?? config,
    request: parsed.value,
    internal: options.internal ?? false,
    runName: 'batch-slimfaas-job-abcdefgh',
    nowMs: 1000,
  });
}

describe('CreateJob', () => {
  it('merges the request over the configuration', () => {
    const result = resolve({
      Args: ['1', '2'],
      Environments: [
        { Name: 'MODE', Value: 'fast' },
        { Name: 'TOKEN', SecretRef: { Name: 's', Key: 'k' } },
      ],
      Resources: { Limits: { cpu: '250m' } },
      BackoffLimit: 0,
    });
    expect(result).toEqual({
      ok: true,
      job: {
        configName: 'batch',
        runName: 'batch-slimfaas-job-abcdefgh',
        image: 'registry.local/batch:1',
        args: ['1', '2'],
        environments: [
          { name: 'KEEP', value: 'yes' },
          { name: 'MODE', value: 'fast' },
          { name: 'TOKEN', secretRef: { name: 's', key: 'k' } },
        ],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '250m', memory: '1Gi' } },
        dependsOn: ['db'],
        backoffLimit: 0,
        ttlSecondsAfterFinished: 60,
        restartPolicy: 'Never',
        enqueuedAtMs: 1000,
      },
    });
    if (!result.ok) return;
    const spec = jobRunSpec(result.job, 'id-1');
    expect(spec.environment).toEqual({ KEEP: 'yes', MODE: 'fast' });
    expect(spec.environmentRefs).toEqual([{ name: 'TOKEN', secretRef: { name: 's', key: 'k' } }]);
    expect(spec).toMatchObject({ elementId: 'id-1', args: ['1', '2'], createdAtMs: 1000 });
  });

  it('refuses a private job to an external caller, not to an internal one', () => {
    const privateConfig = { ...config, visibility: 'Private' as const };
    expect(resolve({}, { config: privateConfig })).toMatchObject({ ok: false, code: 'visibility_private' });
    expect(resolve({}, { config: privateConfig, internal: true })).toMatchObject({ ok: true });
  });

  it('allows the configured image and whitelisted patterns only', () => {
    expect(resolve({ Image: 'registry.local/batch:1' }).ok).toBe(true);
    expect(resolve({ Image: 'registry.local/batch:2' }).ok).toBe(true);
    expect(resolve({ Image: 'mirror.local/anything:9' }).ok).toBe(true);
    expect(resolve({ Image: 'docker.io/registry.local/batch:1' })).toMatchObject({
      ok: false,
      code: 'image_not_allowed',
    });
    expect(imageAllowed(config, 'registry.local/batchX1')).toBe(false);
  });

  it('refuses resources above or outside the configuration, and a BackoffLimit above it', () => {
    expect(resolve({ Resources: { Limits: { cpu: '1' } } })).toMatchObject({
      ok: false,
      code: 'bad_request',
      message: 'Resources.Limits.cpu 1 is above the configured 500m',
    });
    expect(resolve({ Resources: { Limits: { memory: '1024Mi' } } }).ok).toBe(true);
    expect(resolve({ Resources: { Requests: { gpu: '1' } } })).toMatchObject({
      ok: false,
      message: /gpu is not configured/,
    });
    expect(resolve({ BackoffLimit: 3 })).toMatchObject({
      ok: false,
      message: /BackoffLimit 3 is above the configured 2/,
    });
  });

  it('reports malformed bodies field by field; field names are case-sensitive', () => {
    expect(parseCreateJob({ Args: 'x' })).toMatchObject({ ok: false, message: /^Args: / });
    expect(parseCreateJob({ args: ['x'] })).toMatchObject({ ok: false, message: /args/ });
    expect(parseCreateJob({ RestartPolicy: 'Always' })).toMatchObject({
      ok: false,
      message: /RestartPolicy/,
    });
    expect(
      parseCreateJob({ Environments: [{ Name: 'A', Value: 'v', FieldRef: { FieldPath: 'x' } }] }).ok,
    ).toBe(false);
    expect(parseCreateJob({ Resources: { Limits: { cpu: 'lots' } } })).toMatchObject({
      ok: false,
      message: /quantity/,
    });
  });
});

describe('job names and quantities', () => {
  it('names runs <config>-slimfaas-job-<8 base-36 characters>, a valid Kubernetes name', () => {
    expect(newJobRunName('batch')).toMatch(/^batch-slimfaas-job-[a-z0-9]{8}$/);
    expect(jobRunName('my_job', 'abc')).toBe('my-job-slimfaas-job-abc');
  });

  it('parses Kubernetes quantities', () => {
    expect(parseQuantity('100m')).toBeCloseTo(0.1);
    expect(parseQuantity('1Gi')).toBe(1024 ** 3);
    expect(parseQuantity('1.5')).toBe(1.5);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('ten')).toBeUndefined();
    expect(parseQuantity('1Xi')).toBeUndefined();
  });
});

describe('job cron (5 fields, UTC)', () => {
  const at = (iso: string) => Date.parse(iso);

  it('accepts exactly five fields', () => {
    expect(parseCronExpression('*/2 * * * *').ok).toBe(true);
    expect(parseCronExpression('0 * * * * *')).toMatchObject({ ok: false, message: /5-field/ });
    expect(parseCronExpression('* * *')).toMatchObject({ ok: false });
    expect(parseCronExpression('61 * * * *')).toMatchObject({ ok: false, message: /invalid cron/ });
  });

  it('finds the latest occurrence at or before now and the next one after it, in UTC', () => {
    expect(latestOccurrenceMs('*/2 * * * *', at('2026-01-01T00:04:00Z'))).toBe(at('2026-01-01T00:04:00Z'));
    expect(latestOccurrenceMs('*/2 * * * *', at('2026-01-01T00:05:59Z'))).toBe(at('2026-01-01T00:04:00Z'));
    expect(nextOccurrenceMs('*/2 * * * *', at('2026-01-01T00:04:00Z'))).toBe(at('2026-01-01T00:06:00Z'));
    expect(nextOccurrenceMs('30 2 * * *', at('2026-03-29T00:00:00Z'))).toBe(at('2026-03-29T02:30:00Z'));
  });

  it('ORs day-of-month and day-of-week when both are restricted (as SlimFaas)', () => {
    // 2026-01-02 is a Friday (5); the 15th is a Thursday.
    expect(nextOccurrenceMs('0 0 15 * 5', at('2026-01-01T12:00:00Z'))).toBe(at('2026-01-02T00:00:00Z'));
  });
});
