import { JOB_DEFAULTS, JOB_NAME_PATTERN, parseQuantity, type JobConfiguration } from './job-spec.js';

/**
 * The `SlimfaasJob` fields a plain configuration may hold, each with the check that makes it valid for
 * job-schema.ts's zod schema too. Environments and schedules are not plain unless empty (their rules and
 * messages live in the schema only).
 */
const FUNCTION_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PLAIN_FIELDS: Readonly<Record<string, (value: unknown) => boolean>> = {
  Image: (v) => typeof v === 'string',
  ImagesWhitelist: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length >= 1),
  Resources: (v) => isPlainRecord(v) && Object.entries(v).every(([k, m]) => isResourcesEntry(k, m)),
  DependsOn: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string' && FUNCTION_NAME.test(s)),
  Environments: (v) => Array.isArray(v) && v.length === 0,
  BackoffLimit: (v) => isIntegerIn(v, 0, 100),
  Visibility: (v) => v === 'Public' || v === 'Private',
  NumberParallelJob: (v) => isIntegerIn(v, 1, Number.MAX_SAFE_INTEGER),
  TtlSecondsAfterFinished: (v) => isIntegerIn(v, 0, Number.MAX_SAFE_INTEGER),
  RestartPolicy: (v) => v === 'Never' || v === 'OnFailure',
};

/**
 * A job configuration read without zod when every field is plain and valid (known, of the right type, in
 * range) and there are no schedules; undefined as soon as anything is not, and then the caller validates
 * with zod, which alone words the errors. Whenever this returns a configuration it equals what the zod path
 * returns for the same input (test/unit/core/job-configuration-plain.test.ts compares both).
 *
 * Why it exists: zod is by far the largest library SlimFaas loads (bench/README.md, idle RSS), and a
 * manifest's jobs — annotations turned into these fields — are nearly always plain.
 */
export function plainJobConfiguration(
  rawName: string,
  json: unknown,
  schedules: unknown,
): JobConfiguration | undefined {
  const name = rawName.toLowerCase();
  if (!JOB_NAME_PATTERN.test(name)) return undefined;
  const fields = json ?? {};
  if (!isPlainRecord(fields)) return undefined;
  const noSchedules = schedules === undefined || schedules === null || isEmptyArray(schedules);
  if (!noSchedules) return undefined;
  for (const [key, value] of Object.entries(fields)) {
    const check = Object.hasOwn(PLAIN_FIELDS, key) ? PLAIN_FIELDS[key] : undefined;
    if (check === undefined || (value !== undefined && !check(value))) return undefined;
  }
  const f = fields as PlainFields;
  return {
    name,
    image: f.Image ?? '',
    imagesWhitelist: [...(f.ImagesWhitelist ?? [])],
    resources: { requests: { ...f.Resources?.Requests }, limits: { ...f.Resources?.Limits } },
    dependsOn: [...(f.DependsOn ?? [])],
    environments: [],
    backoffLimit: f.BackoffLimit ?? JOB_DEFAULTS.backoffLimit,
    visibility: f.Visibility ?? 'Private',
    numberParallelJob: f.NumberParallelJob ?? JOB_DEFAULTS.numberParallelJob,
    ttlSecondsAfterFinished: f.TtlSecondsAfterFinished ?? JOB_DEFAULTS.ttlSecondsAfterFinished,
    restartPolicy: f.RestartPolicy ?? JOB_DEFAULTS.restartPolicy,
    schedules: [],
  };
}

/** The fields once every check above passed. */
interface PlainFields {
  readonly Image?: string;
  readonly ImagesWhitelist?: readonly string[];
  readonly Resources?: {
    readonly Requests?: Record<string, string>;
    readonly Limits?: Record<string, string>;
  };
  readonly DependsOn?: readonly string[];
  readonly BackoffLimit?: number;
  readonly Visibility?: 'Public' | 'Private';
  readonly NumberParallelJob?: number;
  readonly TtlSecondsAfterFinished?: number;
  readonly RestartPolicy?: 'Never' | 'OnFailure';
}

/** `Requests` / `Limits`: absent, or a map of quantities (`100m`, `0.5`, `512Mi`). */
function isResourcesEntry(key: string, map: unknown): boolean {
  if (key !== 'Requests' && key !== 'Limits') return false;
  if (map === undefined) return true;
  return (
    isPlainRecord(map) &&
    Object.entries(map).every(
      ([k, v]) => k !== '__proto__' && typeof v === 'string' && parseQuantity(v) !== undefined,
    )
  );
}

/** An object literal or parsed JSON object (not an array, not a class instance), with no symbol keys. */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return (
    (prototype === Object.prototype || prototype === null) && Object.getOwnPropertySymbols(value).length === 0
  );
}

function isEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}
