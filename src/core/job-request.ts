import type { JobRunSpec } from './job-runner.js';
import {
  imageAllowed,
  parseQuantity,
  type JobConfiguration,
  type JobEnvironmentVariable,
  type JobRequest,
  type JobResources,
  type QueuedJob,
} from './job-spec.js';

export type JobRequestRefusal =
  | { readonly ok: false; readonly code: 'visibility_private'; readonly message: string }
  | { readonly ok: false; readonly code: 'image_not_allowed'; readonly message: string }
  | { readonly ok: false; readonly code: 'bad_request'; readonly message: string };

export type ResolvedJob = { readonly ok: true; readonly job: QueuedJob } | JobRequestRefusal;

/**
 * Applies a `CreateJob` request to its configuration (reference §4.8 "Enqueue"), refusing what the
 * configuration does not allow:
 * - a Private job from an external caller → `visibility_private`;
 * - an `Image` that is neither the configured image nor matched by `ImagesWhitelist` → `image_not_allowed`;
 * - a resource the configuration does not set, or above the configured value → `bad_request` (SlimFaas
 *   silently clamps; a refusal tells the caller what it will not get);
 * - a `BackoffLimit` above the configured one → `bad_request` (the operator's ceiling on retries).
 * Environment: the configuration's variables not overridden by name, then the request's. `DependsOn`: the
 * request's, otherwise the configuration's.
 */
export function resolveJobRequest(options: {
  readonly config: JobConfiguration;
  readonly request: JobRequest;
  readonly internal: boolean;
  readonly runName: string;
  readonly nowMs: number;
}): ResolvedJob {
  const { config, request } = options;
  if (config.visibility === 'Private' && !options.internal) {
    return { ok: false, code: 'visibility_private', message: `job "${config.name}" is private` };
  }
  const image = request.image ?? '';
  if (image !== '' && !imageAllowed(config, image)) {
    return {
      ok: false,
      code: 'image_not_allowed',
      message: `image ${JSON.stringify(image)} is not allowed for job "${config.name}" (ImagesWhitelist)`,
    };
  }
  const resources = resolveResources(config.resources, request.resources ?? {});
  if (typeof resources === 'string') return { ok: false, code: 'bad_request', message: resources };
  if (request.backoffLimit !== undefined && request.backoffLimit > config.backoffLimit) {
    return {
      ok: false,
      code: 'bad_request',
      message: `BackoffLimit ${request.backoffLimit} is above the configured ${config.backoffLimit}`,
    };
  }
  const overridden = new Set((request.environments ?? []).map((env) => env.name));
  return {
    ok: true,
    job: {
      configName: config.name,
      runName: options.runName,
      image: image === '' ? config.image : image,
      args: request.args ?? [],
      environments: [
        ...config.environments.filter((env) => !overridden.has(env.name)),
        ...(request.environments ?? []),
      ],
      resources,
      dependsOn: request.dependsOn ?? config.dependsOn,
      backoffLimit: request.backoffLimit ?? config.backoffLimit,
      ttlSecondsAfterFinished: request.ttlSecondsAfterFinished ?? config.ttlSecondsAfterFinished,
      restartPolicy: request.restartPolicy ?? config.restartPolicy,
      enqueuedAtMs: options.nowMs,
    },
  };
}

/** The configured resources with the requested values over them; a string says why the request is refused. */
function resolveResources(
  configured: JobResources,
  requested: NonNullable<JobRequest['resources']>,
): JobResources | string {
  const out = { requests: { ...configured.requests }, limits: { ...configured.limits } };
  for (const section of ['requests', 'limits'] as const) {
    const label = section === 'requests' ? 'Requests' : 'Limits';
    for (const [key, value] of Object.entries(requested[section] ?? {})) {
      const ceiling = configured[section][key];
      const asked = parseQuantity(value);
      if (asked === undefined) return `Resources.${label}.${key}: ${JSON.stringify(value)} is not a quantity`;
      if (ceiling === undefined) {
        return `Resources.${label}.${key} is not configured for this job; configured: ${Object.keys(configured[section]).join(', ') || 'none'}`;
      }
      if (asked > (parseQuantity(ceiling) ?? 0)) {
        return `Resources.${label}.${key} ${value} is above the configured ${ceiling}`;
      }
      out[section][key] = value;
    }
  }
  return out;
}

/** The runner's view of a queued job. Plain values go to `environment`; references to `environmentRefs`. */
export function jobRunSpec(job: QueuedJob, elementId: string): JobRunSpec {
  const environment: Record<string, string> = {};
  const refs: JobEnvironmentVariable[] = [];
  for (const variable of job.environments) {
    if (variable.value !== undefined) environment[variable.name] = variable.value;
    else refs.push(variable);
  }
  return {
    configName: job.configName,
    runName: job.runName,
    elementId,
    image: job.image,
    args: job.args,
    environment,
    ...(refs.length > 0 ? { environmentRefs: refs } : {}),
    resources: job.resources,
    backoffLimit: job.backoffLimit,
    ttlSecondsAfterFinished: job.ttlSecondsAfterFinished,
    restartPolicy: job.restartPolicy,
    createdAtMs: job.enqueuedAtMs,
  };
}
