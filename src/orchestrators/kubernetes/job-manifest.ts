import type { V1EnvVar, V1Job } from '@kubernetes/client-node';
import { SlimFaasError } from '../../core/errors.js';
import type { JobRunSpec } from '../../core/job-runner.js';

/** Labels SlimFaas puts on the Jobs it creates and on their pods (reference §2 "Objects SlimFaas creates"). */
export const JOB_LABELS = {
  jobName: 'slimfaas-job-name',
  elementId: 'slimfaas-job-element-id',
  inQueueTimestamp: 'slimfaas-in-queue-timestamp',
  startTimestamp: 'slimfaas-job-start-timestamp',
} as const;

/** The separator between the configuration name and the random suffix of a run name. */
export const RUN_NAME_INFIX = '-slimfaas-job-';

/**
 * A Job name is a DNS-1123 subdomain, but it is also copied into the `job-name` label of its pods
 * (and ours, `slimfaas-job-name`), whose values are limited to 63 characters: so a DNS-1123 label.
 */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_LABEL_LENGTH = 63;

/** .NET `DateTime.Ticks` of the Unix epoch: SlimFaas's timestamp labels are UTC ticks (100 ns since 0001-01-01). */
const EPOCH_TICKS = 621_355_968_000_000_000n;

export function msToTicks(ms: number): string {
  return (EPOCH_TICKS + BigInt(Math.trunc(ms)) * 10_000n).toString();
}

/** Whether `name` can be a Job name here (checked before it is put into any URL). */
export function isValidRunName(name: string): boolean {
  return name.length <= MAX_LABEL_LENGTH && DNS_LABEL.test(name);
}

/** The configuration part of `<config>-slimfaas-job-<random>`; the whole name when it has no infix. */
export function configNameOf(runName: string): string {
  const at = runName.lastIndexOf(RUN_NAME_INFIX);
  return at <= 0 ? runName : runName.slice(0, at);
}

/** Refuses a spec that would make an invalid Job, naming the field (nothing was sent to the API). */
export function checkRunSpec(spec: JobRunSpec): void {
  const problems: string[] = [];
  if (!isValidRunName(spec.runName)) {
    problems.push(
      `runName "${spec.runName}" must be lower-case letters, digits and '-', start and end with a letter or digit, at most ${MAX_LABEL_LENGTH} characters`,
    );
  }
  if (spec.elementId.length > MAX_LABEL_LENGTH || !LABEL_VALUE.test(spec.elementId)) {
    problems.push(`elementId "${spec.elementId}" is not a valid label value`);
  }
  if (spec.image.trim() === '') problems.push('image is empty');
  if (!Number.isInteger(spec.backoffLimit) || spec.backoffLimit < 0) {
    problems.push(`backoffLimit ${spec.backoffLimit} must be an integer >= 0`);
  }
  if (!Number.isInteger(spec.ttlSecondsAfterFinished) || spec.ttlSecondsAfterFinished < 0) {
    problems.push(`ttlSecondsAfterFinished ${spec.ttlSecondsAfterFinished} must be an integer >= 0`);
  }
  if (problems.length > 0) {
    throw new SlimFaasError('bad_request', `job ${spec.configName}: ${problems.join('; ')}`);
  }
}

/** The container name: the configuration name made a DNS-1123 label (SlimFaas names it after the configuration). */
function containerName(configName: string): string {
  const name = configName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_LABEL_LENGTH)
    .replace(/-+$/, '');
  return name === '' ? 'job' : name;
}

/**
 * The `batch/v1` Job for one run: the labels on the Job (so it can be listed and watched by label) and on its
 * pod template (so its pods can be recognised as internal callers), one container with the image, args,
 * environment and resources, `backoffLimit`, `ttlSecondsAfterFinished` and `restartPolicy`.
 */
export function buildJobManifest(spec: JobRunSpec, options: { namespace: string; nowMs: number }): V1Job {
  const labels = {
    [JOB_LABELS.jobName]: spec.runName,
    [JOB_LABELS.elementId]: spec.elementId,
    [JOB_LABELS.inQueueTimestamp]: msToTicks(spec.createdAtMs),
    [JOB_LABELS.startTimestamp]: msToTicks(options.nowMs),
  };
  const env: V1EnvVar[] = Object.entries(spec.environment).map(([name, value]) => ({ name, value }));
  // As in SlimFaas, limits default to the requests.
  const requests = spec.resources?.requests;
  const limits = spec.resources?.limits ?? requests;
  const resources = {
    ...(requests === undefined ? {} : { requests: { ...requests } }),
    ...(limits === undefined ? {} : { limits: { ...limits } }),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: spec.runName, namespace: options.namespace, labels },
    spec: {
      backoffLimit: spec.backoffLimit,
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          restartPolicy: spec.restartPolicy,
          containers: [
            {
              name: containerName(spec.configName),
              image: spec.image,
              args: [...spec.args],
              env,
              resources,
            },
          ],
        },
      },
    },
  };
}
