import { parseJobConfiguration } from '../core/job-schema.js';
import { JOB_NAME_RULE, type JobConfiguration } from '../core/job-spec.js';
import { staticScheduleId } from './jobs-configuration.js';
import { readCommand, readWorkingDirectory } from './manifest-function.js';
import type { ManifestJob } from './manifest-types.js';
import {
  at,
  child,
  describe,
  present,
  readInteger,
  readMap,
  readString,
  readStringMap,
  warnAboutExtraKeys,
  type ReadContext,
} from './tree-readers.js';
import type { MapNode, Shape, TreeNode } from './yaml-tree.js';

const ANY: Shape = { kind: 'any' };
const JOB_FIELDS = [
  'command',
  'workingDirectory',
  'environment',
  'annotations',
  'ttlSecondsAfterFinished',
  'backoffLimit',
  'restartPolicy',
  'resources',
] as const;
/** Keys of an older local-mode schema that SlimFaas rejects (reference §6). */
const JOB_REJECTED = ['parallelism', 'visibility', 'dependsOn', 'schedules'] as const;
const JOB_ANNOTATIONS = [
  'SlimFaas/Job',
  'SlimFaas/DefaultVisibility',
  'SlimFaas/NumberParallelJob',
  'SlimFaas/DependsOn',
  'SlimFaas/Schedules',
  'SlimFaas/JobImagesWhitelist',
] as const;

export const JOB_SHAPE: Shape = {
  kind: 'struct',
  fields: Object.fromEntries([...JOB_FIELDS, ...JOB_REJECTED].map((key) => [key, ANY])),
};

/**
 * Validates one `jobs.<name>` entry (reference §6): the command a run executes (its `Args` appended), and the
 * job configuration from the annotations (`SlimFaas/DefaultVisibility`, `SlimFaas/NumberParallelJob`,
 * `SlimFaas/DependsOn`, `SlimFaas/Schedules`, `SlimFaas/JobImagesWhitelist`) and `ttlSecondsAfterFinished`,
 * `backoffLimit`, `restartPolicy`, `resources` (accepted, not enforced: they bound what a request may ask).
 */
export function readJob(
  name: string,
  node: TreeNode,
  context: ReadContext & { readonly manifestDirectory: string },
): ManifestJob | undefined {
  if (node.kind !== 'map') {
    context.issues.error(
      context.path,
      `expected a mapping with at least "command", got ${describe(node)}`,
      node.at,
    );
    return undefined;
  }
  warnAboutExtraKeys(node, context, { known: [...JOB_FIELDS, ...JOB_REJECTED], unsupported: [] });
  let ok = true;
  for (const key of JOB_REJECTED) {
    if (!present(child(node, key))) continue;
    context.issues.error(
      [...context.path, key],
      `is no longer supported: use the SlimFaas/* annotations`,
      child(node, key)?.at,
    );
    ok = false;
  }
  const command = readCommand(child(node, 'command'), at(context, 'command'));
  const workingDirectory = readWorkingDirectory(node, context);
  const environment = readStringMap(child(node, 'environment'), at(context, 'environment'));
  const annotations = readStringMap(child(node, 'annotations'), at(context, 'annotations'));
  const config =
    annotations === undefined ? undefined : readJobConfiguration(name, node, annotations, context);
  if (
    !ok ||
    command === undefined ||
    workingDirectory === undefined ||
    environment === undefined ||
    config === undefined
  ) {
    return undefined;
  }
  return { name: config.name, command, workingDirectory, environment, config };
}

function readJobConfiguration(
  name: string,
  node: MapNode,
  annotations: Readonly<Record<string, string>>,
  context: ReadContext,
): JobConfiguration | undefined {
  const issues = context.issues;
  const annotationsNode = child(node, 'annotations');
  const where = (key: string) =>
    annotationsNode?.kind === 'map' ? child(annotationsNode, key)?.at : undefined;
  for (const key of Object.keys(annotations)) {
    if (key.startsWith('SlimFaas/') && !(JOB_ANNOTATIONS as readonly string[]).includes(key)) {
      issues.warnKey(
        [...context.path, 'annotations', key],
        'is not a job annotation and is ignored',
        where(key),
      );
    }
  }
  const job = annotations['SlimFaas/Job'];
  if (job !== undefined && job.toLowerCase() !== 'true') {
    issues.error(
      [...context.path, 'annotations', 'SlimFaas/Job'],
      `expected "true", got ${JSON.stringify(job)}`,
      where('SlimFaas/Job'),
    );
    return undefined;
  }
  const json: Record<string, unknown> = {};
  const visibility = annotations['SlimFaas/DefaultVisibility'];
  if (visibility !== undefined) json.Visibility = canonical(visibility, ['Public', 'Private']);
  const parallel = annotations['SlimFaas/NumberParallelJob'];
  if (parallel !== undefined) json.NumberParallelJob = /^\d+$/.test(parallel) ? Number(parallel) : parallel;
  const dependsOn = csv(annotations['SlimFaas/DependsOn']);
  if (dependsOn !== undefined) json.DependsOn = dependsOn;
  const whitelist = csv(annotations['SlimFaas/JobImagesWhitelist']);
  if (whitelist !== undefined) json.ImagesWhitelist = whitelist;
  const integer = (key: 'ttlSecondsAfterFinished' | 'backoffLimit', max?: number) =>
    readInteger(child(node, key), at(context, key), max === undefined ? { min: 0 } : { min: 0, max });
  const ttl = integer('ttlSecondsAfterFinished');
  if (ttl !== undefined) json.TtlSecondsAfterFinished = ttl;
  const backoff = integer('backoffLimit', 100);
  if (backoff !== undefined) json.BackoffLimit = backoff;
  const restart = readString(child(node, 'restartPolicy'), at(context, 'restartPolicy'));
  if (restart !== undefined) json.RestartPolicy = canonical(restart, ['Never', 'OnFailure']);
  const resources = readResources(child(node, 'resources'), at(context, 'resources'));
  if (resources !== undefined) json.Resources = resources;
  let schedules: unknown = [];
  const schedulesText = annotations['SlimFaas/Schedules'];
  if (schedulesText !== undefined) {
    try {
      schedules = JSON.parse(schedulesText);
    } catch (error) {
      issues.error(
        [...context.path, 'annotations', 'SlimFaas/Schedules'],
        `expected a JSON array: ${(error as Error).message}`,
        where('SlimFaas/Schedules'),
      );
      return undefined;
    }
  }
  const parsed = parseJobConfiguration({ name, json, schedules, scheduleId: staticScheduleId });
  if (!parsed.ok) {
    const message = parsed.message.replace(`name: ${JOB_NAME_RULE}`, `invalid job name: ${JOB_NAME_RULE}`);
    issues.error(context.path, message, node.at);
    return undefined;
  }
  return parsed.value;
}

function readResources(
  node: TreeNode | undefined,
  context: ReadContext,
): Record<string, unknown> | undefined {
  const map = readMap(node, context);
  if (map === undefined) return undefined;
  warnAboutExtraKeys(map, context, { known: ['requests', 'limits'], unsupported: [] });
  const requests = readStringMap(child(map, 'requests'), at(context, 'requests'));
  const limits = readStringMap(child(map, 'limits'), at(context, 'limits'));
  return { Requests: requests ?? {}, Limits: limits ?? {} };
}

function csv(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `public` → `Public`, `onfailure` → `OnFailure`: values SlimFaas enumerates are case-insensitive here. */
function canonical(text: string, values: readonly string[]): string {
  return values.find((value) => value.toLowerCase() === text.toLowerCase()) ?? text;
}
