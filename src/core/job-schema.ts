import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { parseCronExpression } from './job-cron.js';
import { plainJobConfiguration } from './job-configuration-plain.js';
import {
  JOB_DEFAULTS,
  JOB_NAME_PATTERN,
  JOB_NAME_RULE,
  parseQuantity,
  type JobConfiguration,
  type JobEnvironmentVariable,
  type JobRequest,
  type JobSchedule,
} from './job-spec.js';

/**
 * SlimFaas's JSON shapes for jobs, in PascalCase and case-sensitive as the original reads them: `CreateJob`
 * (the body of `POST /job/{name}`), `ScheduleCreateJob` and `SlimfaasJob` (`SLIMFAAS_JOBS_CONFIGURATION`).
 * Unknown fields are refused, so a typo (`args` for `Args`) is an error instead of a silently ignored field.
 */
function buildSchemas(z: typeof Zod.z) {
  const quantityMap = z.record(
    z.string(),
    z.string().refine((v) => parseQuantity(v) !== undefined, 'expected a quantity such as 100m, 0.5, 512Mi'),
  );
  const resourcesSchema = z.strictObject({
    Requests: quantityMap.optional(),
    Limits: quantityMap.optional(),
  });
  const reference = z.strictObject({ Name: z.string().min(1), Key: z.string().min(1) });
  const environmentSchema = z
    .strictObject({
      Name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'expected an environment variable name'),
      Value: z.string().optional(),
      SecretRef: reference.optional(),
      ConfigMapRef: reference.optional(),
      FieldRef: z.strictObject({ FieldPath: z.string().min(1) }).optional(),
      ResourceFieldRef: z
        .strictObject({
          ContainerName: z.string().optional(),
          Resource: z.string().min(1),
          Divisor: z.string().optional(),
        })
        .optional(),
    })
    .refine(
      (env) =>
        [env.Value, env.SecretRef, env.ConfigMapRef, env.FieldRef, env.ResourceFieldRef].filter(
          (v) => v !== undefined,
        ).length <= 1,
      'set at most one of Value, SecretRef, ConfigMapRef, FieldRef, ResourceFieldRef',
    );
  const restartPolicy = z.enum(['Never', 'OnFailure']);
  const dependsOn = z.array(
    z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a function name'),
  );
  const createJobFields = {
    Args: z.array(z.string()).optional(),
    Image: z.string().optional(),
    Environments: z.array(environmentSchema).optional(),
    Resources: resourcesSchema.optional(),
    DependsOn: dependsOn.optional(),
    BackoffLimit: z.int().min(0).max(100).optional(),
    TtlSecondsAfterFinished: z.int().min(0).optional(),
    RestartPolicy: restartPolicy.optional(),
  };
  const cron = z.string().refine((v) => parseCronExpression(v).ok, {
    error: (issue) => {
      const parsed = parseCronExpression(String(issue.input));
      return parsed.ok ? 'invalid cron expression' : parsed.message;
    },
  });
  return {
    createJob: z.strictObject(createJobFields),
    schedule: z.strictObject({ ...createJobFields, Schedule: cron }),
    job: z.strictObject({
      Image: z.string().default(''),
      ImagesWhitelist: z.array(z.string().min(1)).default([]),
      Resources: resourcesSchema.default({}),
      DependsOn: dependsOn.default([]),
      Environments: z.array(environmentSchema).default([]),
      BackoffLimit: z.int().min(0).max(100).default(JOB_DEFAULTS.backoffLimit),
      Visibility: z.enum(['Public', 'Private']).default('Private'),
      NumberParallelJob: z.int().min(1).default(JOB_DEFAULTS.numberParallelJob),
      TtlSecondsAfterFinished: z.int().min(0).default(JOB_DEFAULTS.ttlSecondsAfterFinished),
      RestartPolicy: restartPolicy.default(JOB_DEFAULTS.restartPolicy),
    }),
    list: z.array(z.unknown()),
  };
}

type Schemas = ReturnType<typeof buildSchemas>;
let builtSchemas: Schemas | undefined;

/**
 * zod and the schemas, built on first use. zod is loaded only when something is parsed with it — a `/job` or
 * `/job-schedules` body, a schedule, a job configuration the plain check cannot vouch for — so a SlimFaas
 * whose jobs are plain does not keep zod's code in memory (bench/README.md, idle RSS). Its CommonJS build is
 * loaded so that parsing stays synchronous.
 */
function schemas(): Schemas {
  builtSchemas ??= buildSchemas((createRequire(import.meta.url)('zod') as typeof Zod).z);
  return builtSchemas;
}

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** `Args: expected array` style messages, every issue listed, each with its field path. */
function describeIssues(error: Zod.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    })
    .join('; ');
}

type CreateJobJson = Zod.infer<Schemas['createJob']>;

function toRequest(json: CreateJobJson): JobRequest {
  return {
    ...(json.Args === undefined ? {} : { args: json.Args }),
    ...(json.Image === undefined ? {} : { image: json.Image }),
    ...(json.Environments === undefined ? {} : { environments: json.Environments.map(toEnvironment) }),
    ...(json.Resources === undefined
      ? {}
      : {
          resources: {
            ...(json.Resources.Requests ? { requests: json.Resources.Requests } : {}),
            ...(json.Resources.Limits ? { limits: json.Resources.Limits } : {}),
          },
        }),
    ...(json.DependsOn === undefined ? {} : { dependsOn: json.DependsOn }),
    ...(json.BackoffLimit === undefined ? {} : { backoffLimit: json.BackoffLimit }),
    ...(json.TtlSecondsAfterFinished === undefined
      ? {}
      : { ttlSecondsAfterFinished: json.TtlSecondsAfterFinished }),
    ...(json.RestartPolicy === undefined ? {} : { restartPolicy: json.RestartPolicy }),
  };
}

function toEnvironment(env: NonNullable<CreateJobJson['Environments']>[number]): JobEnvironmentVariable {
  return {
    name: env.Name,
    ...(env.Value === undefined ? {} : { value: env.Value }),
    ...(env.SecretRef ? { secretRef: { name: env.SecretRef.Name, key: env.SecretRef.Key } } : {}),
    ...(env.ConfigMapRef ? { configMapRef: { name: env.ConfigMapRef.Name, key: env.ConfigMapRef.Key } } : {}),
    ...(env.FieldRef ? { fieldRef: { fieldPath: env.FieldRef.FieldPath } } : {}),
    ...(env.ResourceFieldRef
      ? {
          resourceFieldRef: {
            resource: env.ResourceFieldRef.Resource,
            ...(env.ResourceFieldRef.ContainerName === undefined
              ? {}
              : { containerName: env.ResourceFieldRef.ContainerName }),
            ...(env.ResourceFieldRef.Divisor === undefined ? {} : { divisor: env.ResourceFieldRef.Divisor }),
          },
        }
      : {}),
  };
}

/** Back to SlimFaas's JSON (for `GET /job-schedules`); absent fields are omitted, as SlimFaas omits nulls. */
export function requestToJson(request: JobRequest): Record<string, unknown> {
  return {
    ...(request.args === undefined ? {} : { Args: request.args }),
    ...(request.image === undefined ? {} : { Image: request.image }),
    ...(request.backoffLimit === undefined ? {} : { BackoffLimit: request.backoffLimit }),
    ...(request.ttlSecondsAfterFinished === undefined
      ? {}
      : { TtlSecondsAfterFinished: request.ttlSecondsAfterFinished }),
    ...(request.restartPolicy === undefined ? {} : { RestartPolicy: request.restartPolicy }),
    ...(request.resources === undefined ? {} : { Resources: resourcesToJson(request.resources) }),
    ...(request.environments === undefined
      ? {}
      : { Environments: request.environments.map(environmentToJson) }),
    ...(request.dependsOn === undefined ? {} : { DependsOn: request.dependsOn }),
  };
}

export function resourcesToJson(resources: NonNullable<JobRequest['resources']>): Record<string, unknown> {
  return {
    ...(resources.requests ? { Requests: resources.requests } : {}),
    ...(resources.limits ? { Limits: resources.limits } : {}),
  };
}

function environmentToJson(env: JobEnvironmentVariable): Record<string, unknown> {
  return {
    Name: env.name,
    ...(env.value === undefined ? {} : { Value: env.value }),
    ...(env.secretRef ? { SecretRef: { Name: env.secretRef.name, Key: env.secretRef.key } } : {}),
    ...(env.configMapRef ? { ConfigMapRef: { Name: env.configMapRef.name, Key: env.configMapRef.key } } : {}),
    ...(env.fieldRef ? { FieldRef: { FieldPath: env.fieldRef.fieldPath } } : {}),
    ...(env.resourceFieldRef
      ? {
          ResourceFieldRef: {
            Resource: env.resourceFieldRef.resource,
            ...(env.resourceFieldRef.containerName === undefined
              ? {}
              : { ContainerName: env.resourceFieldRef.containerName }),
            ...(env.resourceFieldRef.divisor === undefined ? {} : { Divisor: env.resourceFieldRef.divisor }),
          },
        }
      : {}),
  };
}

/** The body of `POST /job/{name}`. */
export function parseCreateJob(json: unknown): Parsed<JobRequest> {
  const result = schemas().createJob.safeParse(json);
  return result.success
    ? { ok: true, value: toRequest(result.data) }
    : { ok: false, message: describeIssues(result.error) };
}

/** The body of `POST /job-schedules/{name}`; `id` is the new schedule's. */
export function parseScheduleCreateJob(json: unknown, id: string): Parsed<JobSchedule> {
  const result = schemas().schedule.safeParse(json);
  if (!result.success) return { ok: false, message: describeIssues(result.error) };
  const { Schedule, ...request } = result.data;
  return { ok: true, value: { id, schedule: Schedule.trim(), request: toRequest(request) } };
}

/** What `parseJobConfiguration` reads: one job's name, its `SlimfaasJob` JSON and its schedules' JSON. */
export interface JobConfigurationInput {
  readonly name: string;
  readonly json: unknown;
  readonly schedules: unknown;
  readonly scheduleId: (json: unknown) => string;
}

/**
 * One `Configurations.<name>` entry. `scheduleId` names a static schedule (a hash of its JSON, so it is stable
 * across restarts). Every problem is listed in one message. A configuration made only of plain, valid fields
 * (the usual case, and every manifest job without schedules or environment entries) is read without zod
 * (job-configuration-plain.ts); anything else goes through `validateJobConfiguration`.
 */
export function parseJobConfiguration(options: JobConfigurationInput): Parsed<JobConfiguration> {
  const plain = plainJobConfiguration(options.name, options.json, options.schedules);
  return plain === undefined ? validateJobConfiguration(options) : { ok: true, value: plain };
}

/** `parseJobConfiguration` with zod for every input: the reference the plain check must agree with. */
export function validateJobConfiguration(options: JobConfigurationInput): Parsed<JobConfiguration> {
  const name = options.name.toLowerCase();
  const problems: string[] = [];
  if (!JOB_NAME_PATTERN.test(name)) problems.push(`name: ${JOB_NAME_RULE}`);
  const job = schemas().job.safeParse(options.json ?? {});
  if (!job.success) problems.push(describeIssues(job.error));
  const schedules: JobSchedule[] = [];
  const list = schemas().list.safeParse(options.schedules ?? []);
  if (!list.success) problems.push('Schedules: expected an array');
  (list.data ?? []).forEach((entry, index) => {
    const parsed = parseScheduleCreateJob(entry, options.scheduleId(entry));
    if (parsed.ok) schedules.push(parsed.value);
    else problems.push(`Schedules[${index}]: ${parsed.message}`);
  });
  if (problems.length > 0 || !job.success) return { ok: false, message: problems.join('; ') };
  const j = job.data;
  return {
    ok: true,
    value: {
      name,
      image: j.Image,
      imagesWhitelist: j.ImagesWhitelist,
      resources: { requests: j.Resources.Requests ?? {}, limits: j.Resources.Limits ?? {} },
      dependsOn: j.DependsOn,
      environments: j.Environments.map(toEnvironment),
      backoffLimit: j.BackoffLimit,
      visibility: j.Visibility,
      numberParallelJob: j.NumberParallelJob,
      ttlSecondsAfterFinished: j.TtlSecondsAfterFinished,
      restartPolicy: j.RestartPolicy,
      schedules,
    },
  };
}
