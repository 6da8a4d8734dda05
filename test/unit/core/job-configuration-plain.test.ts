import { describe, expect, it } from 'vitest';
import { plainJobConfiguration } from '../../../src/core/job-configuration-plain.js';
import { parseJobConfiguration, validateJobConfiguration } from '../../../src/core/job-schema.js';

const scheduleId = (json: unknown): string => `id-${JSON.stringify(json).length}`;

/** Inputs the plain check must read itself (the manifest's usual jobs, SLIMFAAS_JOBS_CONFIGURATION's). */
const PLAIN: readonly { name: string; json: unknown; schedules?: unknown }[] = [
  { name: 'batch', json: undefined },
  { name: 'batch', json: null, schedules: null },
  { name: 'Batch', json: {}, schedules: [] },
  { name: 'fibonacci-batch', json: { Visibility: 'Public', NumberParallelJob: 1, DependsOn: ['fibonacci'] } },
  {
    name: 'full_job',
    json: {
      Image: 'registry.local/batch:1',
      ImagesWhitelist: ['registry.local/*', 'x'],
      Resources: { Requests: { cpu: '100m', memory: '128Mi' }, Limits: { cpu: '0.5', memory: '1Gi' } },
      DependsOn: ['a', 'db-1'],
      Environments: [],
      BackoffLimit: 100,
      Visibility: 'Private',
      NumberParallelJob: 4,
      TtlSecondsAfterFinished: 0,
      RestartPolicy: 'OnFailure',
    },
  },
  { name: 'res', json: { Resources: {} } },
  { name: 'res', json: { Resources: { Requests: {}, Limits: undefined } } },
  { name: 'zero', json: { BackoffLimit: 0, TtlSecondsAfterFinished: undefined, Image: '' } },
];

/** Inputs it must leave to zod: invalid ones (zod words the error) and valid ones outside the plain subset. */
const NOT_PLAIN: readonly { name: string; json: unknown; schedules?: unknown }[] = [
  { name: 'ab', json: {} },
  { name: 'bad name!', json: {} },
  { name: 'batch', json: [] },
  { name: 'batch', json: 'text' },
  { name: 'batch', json: { Unknown: 1 } },
  { name: 'batch', json: { image: 'lower-case key' } },
  { name: 'batch', json: { Image: 3 } },
  { name: 'batch', json: { ImagesWhitelist: [''] } },
  { name: 'batch', json: { ImagesWhitelist: 'x' } },
  { name: 'batch', json: { Resources: { Requests: { cpu: 'lots' } } } },
  { name: 'batch', json: { Resources: { Requests: { cpu: 1 } } } },
  { name: 'batch', json: { Resources: { Other: {} } } },
  { name: 'batch', json: { Resources: [] } },
  { name: 'batch', json: { DependsOn: ['Not_A_Function'] } },
  { name: 'batch', json: { DependsOn: 'fibonacci' } },
  { name: 'batch', json: { Environments: [{ Name: 'MODE', Value: 'x' }] } },
  { name: 'batch', json: { Environments: [{ Name: '1bad' }] } },
  { name: 'batch', json: { BackoffLimit: 101 } },
  { name: 'batch', json: { BackoffLimit: -1 } },
  { name: 'batch', json: { BackoffLimit: 1.5 } },
  { name: 'batch', json: { BackoffLimit: '1' } },
  { name: 'batch', json: { NumberParallelJob: 0 } },
  { name: 'batch', json: { TtlSecondsAfterFinished: 2 ** 60 } },
  { name: 'batch', json: { Visibility: 'public' } },
  { name: 'batch', json: { RestartPolicy: 'Always' } },
  { name: 'batch', json: { Visibility: null } },
  { name: 'batch', json: {}, schedules: [{ Schedule: '0 * * * *', Args: ['1'] }] },
  { name: 'batch', json: {}, schedules: [{ Schedule: 'not cron' }] },
  { name: 'batch', json: {}, schedules: 'nope' },
];

describe('plainJobConfiguration (a job configuration read without zod)', () => {
  it.each(PLAIN)('reads $name %# itself, exactly as the zod path does', (input) => {
    const options = { ...input, schedules: input.schedules, scheduleId };
    const plain = plainJobConfiguration(input.name, input.json, input.schedules);
    expect(plain).toBeDefined();
    const reference = validateJobConfiguration(options);
    expect(reference).toEqual({ ok: true, value: plain });
    expect(parseJobConfiguration(options)).toEqual(reference);
  });

  it.each(NOT_PLAIN)('leaves $name %# to zod, whose result parseJobConfiguration returns', (input) => {
    const options = { ...input, schedules: input.schedules, scheduleId };
    expect(plainJobConfiguration(input.name, input.json, input.schedules)).toBeUndefined();
    expect(parseJobConfiguration(options)).toEqual(validateJobConfiguration(options));
  });

  it('lets zod word the errors: a typo in a field name is refused with its path', () => {
    const parsed = parseJobConfiguration({
      name: 'batch',
      json: { Visibilty: 'Public' },
      schedules: [],
      scheduleId,
    });
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toContain('Visibilty');
  });
});
